//! Blocking metadata walks run side by side, each on a thread of its own, so that their cache
//! misses are in flight together (the cache fetches a block once however many walks wait for
//! it) instead of one walk's after another's.

/// Threads at once.
const MAX_THREADS: usize = 64;

/// `f` of every item, each on a scoped thread (at most [`MAX_THREADS`] at a time), in the order
/// of `items`; `None` where `f` panicked.
pub(crate) fn each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    if items.len() < 2 {
        return items.iter().map(|item| Some(f(item))).collect();
    }
    let f = &f;
    let mut out = Vec::with_capacity(items.len());
    for batch in items.chunks(MAX_THREADS) {
        std::thread::scope(|scope| {
            let walks: Vec<_> = batch
                .iter()
                .map(|item| scope.spawn(move || f(item)))
                .collect();
            out.extend(walks.into_iter().map(|walk| walk.join().ok()));
        });
    }
    out
}
