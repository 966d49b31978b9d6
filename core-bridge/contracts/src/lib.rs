//! EdgeX v3/v4 data contracts: DTOs, reading values, profiles and device files.
