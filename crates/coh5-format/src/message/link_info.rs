//! Link Info message (File Format Specification IV.A.2.c, type 0x0002): where a new-style
//! group keeps its dense links (fractal heap and v2 B-tree indexes).

/// The message; its encoding is shared with the other dense-storage info message.
pub type LinkInfo = super::dense_storage_info::DenseStorageInfo<super::dense_storage_info::Links>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Context, Cursor};
    use crate::UNDEF_ADDR;

    #[test]
    fn parses_compact_and_indexed() {
        let ctx = Context::default();
        let mut b = vec![0, 0];
        b.extend_from_slice(&[0xff; 16]);
        let li = LinkInfo::parse(&mut Cursor::new(&b, 0, "link info"), &ctx).unwrap();
        assert_eq!(li.fractal_heap, UNDEF_ADDR);
        assert!(!li.is_dense() && li.max_creation_index.is_none());

        let mut b = vec![0, 3];
        b.extend_from_slice(&5u64.to_le_bytes());
        b.extend_from_slice(&100u64.to_le_bytes());
        b.extend_from_slice(&200u64.to_le_bytes());
        b.extend_from_slice(&300u64.to_le_bytes());
        let li = LinkInfo::parse(&mut Cursor::new(&b, 0, "link info"), &ctx).unwrap();
        assert!(li.track_creation_order && li.index_creation_order);
        assert_eq!(li.max_creation_index, Some(5));
        assert_eq!((li.fractal_heap, li.name_index), (100, 200));
        assert_eq!(li.creation_order_index, Some(300));
        for n in 0..b.len() {
            assert!(LinkInfo::parse(&mut Cursor::new(&b[..n], 0, "link info"), &ctx).is_err());
        }
        assert!(LinkInfo::parse(&mut Cursor::new(&[1, 0], 0, "link info"), &ctx).is_err());
    }
}
