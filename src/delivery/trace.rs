//! Span fields for the worker's stages: lists of ids, formatted only if the span is recorded.

use std::fmt;

/// Ids for a span's field, formatted only if the span is recorded.
pub(super) struct Ids<I>(pub I);

impl<I> fmt::Debug for Ids<I>
where
    I: Iterator + Clone,
    I::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.clone()).finish()
    }
}

/// Ids for a span's field, each once, formatted only if the span is recorded.
pub(super) struct Distinct<I>(pub I);

impl<I> fmt::Debug for Distinct<I>
where
    I: Iterator + Clone,
    I::Item: fmt::Debug + Ord,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let distinct: std::collections::BTreeSet<I::Item> = self.0.clone().collect();
        f.debug_list().entries(distinct).finish()
    }
}
