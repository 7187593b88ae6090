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
    let count = data.len() / size;
    let mut out = vec![0u8; data.len()];
    for (j, plane) in data.chunks_exact(count).take(size).enumerate() {
        for (i, &b) in plane.iter().enumerate() {
            out[i * size + j] = b;
        }
    }
    let whole = count * size;
    out[whole..].copy_from_slice(&data[whole..]);
    out
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
}
