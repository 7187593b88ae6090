//! The tokio runtime behind the blocking API.
//!
//! Byte sources are async (object stores are), while the metadata decoders of `coh5-format` are
//! synchronous so they stay fuzzable. Blocking calls run their I/O on one shared runtime.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .enable_all()
            .thread_name("coh5-io")
            .build()
            // Without a runtime nothing can be read at all; failing to create one means the
            // process cannot create threads, which no caller can recover from.
            .expect("coh5: cannot start the I/O runtime")
    })
}

/// Runs `fut` to completion from synchronous code. Its reads carry the purpose the calling
/// thread has entered (`coh5_io::trace::enter`), else "metadata": the decoders read through
/// here, and raw-data reads tag themselves.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    runtime().block_on(coh5_io::trace::scoped(coh5_io::trace::METADATA, fut))
}
