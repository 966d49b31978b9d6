//! EdgeX device-service SDK: startup, REST API, commands, autoevents, transforms.
