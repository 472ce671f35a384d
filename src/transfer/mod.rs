//! Moving a blog's comments in and out: [`run`] drives an export of
//! another system (read by [`crate::import`]) or moderato's own NDJSON
//! ([`ndjson`]) into the core, one comment at a time, and reports what it
//! did ([`Report`]); [`wxr`] writes the stored comments as a WordPress
//! file (with [`crate::export`]'s writer). The command line and the admin
//! routes both call these, so a file imports the same way through either
//! door.
//!
//! The formats stay in `import` and `export`, the comment's rules in the
//! core ([`Moderator::prepare_import`]); this module only connects them:
//! [`convert`] maps a reader's record to the core's input.
//!
//! [`Moderator::prepare_import`]: crate::domain::moderation::Moderator::prepare_import

mod convert;
pub mod ndjson;
mod report;
pub mod run;
pub mod wxr;

pub use report::{Report, ReportError, ReportNotice};
pub use run::{Error, Options, import_file};
pub use wxr::{Blog, ExportError, Written};
