//! Switchboard host library.
