//! Writing moderato's comments in other systems' formats, so a blog can
//! leave: [`wxr`] for WordPress. (moderato's own lossless backup, JSON
//! Lines, lives in `admin::data`.) Pure of storage: the caller maps stored
//! comments to these writers' input types.

pub mod wxr;

#[cfg(test)]
mod tests;
