//! The confirmation step before a delete: a page whose only button posts the delete (no GET
//! ever changes anything).

use askama::Template;

use super::views::Layout;

use crate::error::PageResult;

#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub(super) struct Confirm {
    pub l: Layout,
    pub text: String,
    /// Where the delete form posts.
    pub action: String,
    pub button: String,
    /// Where "Cancel" goes.
    pub back: String,
}

pub(super) fn confirm_page(c: &Confirm) -> PageResult {
    super::html(c)
}
