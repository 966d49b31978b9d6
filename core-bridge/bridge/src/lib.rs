//! Lightweight EdgeX core: metadata, data, command, keeper, embedded store and broker, SMA.
