//! Attribute Info message (File Format Specification IV.A.2.v, type 0x0015): where an object
//! keeps its dense attributes (fractal heap and v2 B-tree indexes).

/// The message; its encoding is shared with the other dense-storage info message.
pub type AttributeInfo =
    super::dense_storage_info::DenseStorageInfo<super::dense_storage_info::Attributes>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Context, Cursor};

    #[test]
    fn parses_tracked_order() {
        let ctx = Context {
            sizeof_offsets: 4,
            sizeof_lengths: 4,
            base_address: 0,
        };
        let b = [0, 1, 9, 0, 1, 0, 0, 0, 2, 0, 0, 0];
        let ai = AttributeInfo::parse(&mut Cursor::new(&b, 0, "attribute info"), &ctx).unwrap();
        assert_eq!(ai.max_creation_index, Some(9));
        assert_eq!((ai.fractal_heap, ai.name_index), (1, 2));
        assert!(ai.is_dense() && ai.creation_order_index.is_none());
        for n in 0..b.len() {
            let r = AttributeInfo::parse(&mut Cursor::new(&b[..n], 0, "attribute info"), &ctx);
            assert!(r.is_err());
        }
        let bad = [0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(AttributeInfo::parse(&mut Cursor::new(&bad, 0, "attribute info"), &ctx).is_err());
    }
}
