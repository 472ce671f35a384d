//! Unit tests for each rule kind and for loading errors.
