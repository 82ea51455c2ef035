//! glibc's `/etc/ld.so.cache`, read the way the dynamic loader reads it (placeholder: being written).
