//! Filter 2, shuffle: byte transposition by element size (libhdf5 H5Zshuffle.c). Bytes past the last
//! whole element are stored unshuffled at the end.

use crate::error::DResult;

/// Undoes the shuffle. `client_data[0]` is the element size libhdf5 recorded; the dataset's element
/// size is used when it is absent.
pub(crate) fn decode(data: Vec<u8>, client_data: &[u32], element_size: usize) -> DResult<Vec<u8>> {
    let size = client_data.first().map_or(element_size, |&s| s as usize);
    Ok(unshuffle(data, size))
}

/// Byte un-transpose: the stored buffer holds byte 0 of every element, then byte 1, and so on.
pub(crate) fn unshuffle(data: Vec<u8>, size: usize) -> Vec<u8> {
    if size <= 1 || data.len() < size {
        return data;
    }
    let mut out = vec![0u8; data.len()];
    unshuffle_into(&data, size, &mut out);
    out
}

/// [`unshuffle`] into a buffer of the same length as `data`.
pub(crate) fn unshuffle_into(data: &[u8], size: usize, out: &mut [u8]) {
    if size <= 1 || data.len() < size {
        out.copy_from_slice(data);
        return;
    }
    let count = data.len() / size;
    let whole = count * size;
    let (body, tail) = out.split_at_mut(whole);
    // The common element sizes get a loop the compiler unrolls and keeps free of bounds checks;
    // this transposition runs over every byte of every shuffled chunk.
    match size {
        2 => transpose::<2>(&data[..whole], body),
        4 => transpose::<4>(&data[..whole], body),
        8 => transpose::<8>(&data[..whole], body),
        _ => {
            for (j, plane) in data.chunks_exact(count).take(size).enumerate() {
                for (element, &b) in body.chunks_exact_mut(size).zip(plane) {
                    element[j] = b;
                }
            }
        }
    }
    tail.copy_from_slice(&data[whole..]);
}

/// Un-transposes `N` planes of `out.len() / N` bytes each into `out`.
fn transpose<const N: usize>(planes: &[u8], out: &mut [u8]) {
    let count = out.len() / N;
    let plane: [&[u8]; N] = std::array::from_fn(|j| &planes[j * count..(j + 1) * count]);
    for (i, element) in out.chunks_exact_mut(N).enumerate() {
        for j in 0..N {
            element[j] = plane[j][i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unshuffles_with_tail() {
        // Elements [1,2,3],[4,5,6] shuffled, plus a 2-byte tail.
        let stored = vec![1, 4, 2, 5, 3, 6, 9, 9];
        assert_eq!(
            decode(stored, &[3], 1).unwrap(),
            vec![1, 2, 3, 4, 5, 6, 9, 9]
        );
        assert_eq!(decode(vec![1, 2], &[4], 4).unwrap(), vec![1, 2]);
        assert_eq!(decode(vec![], &[], 8).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn every_element_size_matches_the_definition() {
        for size in 2..=9usize {
            for count in [0usize, 1, 7, 1000] {
                let tail = size / 2;
                let raw: Vec<u8> = (0..count * size + tail)
                    .map(|i| (i * 31 % 251) as u8)
                    .collect();
                let mut stored = vec![0u8; raw.len()];
                for i in 0..count {
                    for j in 0..size {
                        stored[j * count + i] = raw[i * size + j];
                    }
                }
                stored[count * size..].copy_from_slice(&raw[count * size..]);
                assert_eq!(unshuffle(stored, size), raw, "size {size} count {count}");
            }
        }
    }
}
