//! YAML
