//! EdgeX GPIO device service (chardev and sysfs).
