//! EdgeX-style configuration loading: files, common config, providers, env overrides, flags.
