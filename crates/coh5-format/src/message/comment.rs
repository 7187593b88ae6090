//! Object Comment message (File Format Specification IV.A.2.n, type 0x000D).

use crate::error::Result;
use crate::read::{Context, Cursor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment text without its NUL terminator.
    pub text: Vec<u8>,
}

impl Comment {
    /// A missing terminator is tolerated: the comment then runs to the end of the message.
    pub fn parse(c: &mut Cursor, _ctx: &Context) -> Result<Self> {
        let rest = c.rest();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Ok(Comment {
            text: rest[..end].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_nul() {
        let ctx = Context::default();
        let c = Comment::parse(&mut Cursor::new(b"hello\0\0\0", 0, "comment"), &ctx).unwrap();
        assert_eq!(c.text, b"hello");
        let c = Comment::parse(&mut Cursor::new(b"abc", 0, "comment"), &ctx).unwrap();
        assert_eq!(c.text, b"abc");
    }
}
