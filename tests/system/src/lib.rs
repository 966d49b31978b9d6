//! Cross-service system tests.
