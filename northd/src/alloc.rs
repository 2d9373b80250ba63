//! The memory allocator of flowc's programs: jemalloc with one arena, and
//! pages freed to the system as soon as they are unused.
//!
//! Why (medium cluster, measured on the 2-core machine): glibc's malloc
//! spent about a fifth of a pod add's time in `_int_malloc` and its
//! consolidation (the dataflow allocates and frees many small buffers every
//! epoch), and kept freed memory resident. With jemalloc so configured a pod
//! add in the engine went from ~1.7 to ~1.3 ms, the engine's peak RSS after
//! a cold load from 276 to 262 MB (208 MB resident after it, against 270),
//! and flowc-northd's cold-start peak from 409 to 384 MB. jemalloc's
//! default decay (10 s) kept 40 MB more at peak; several arenas, more still.
//!
//! A library does not choose its embedder's allocator: the binaries opt in
//! with [`use_jemalloc!`](crate::use_jemalloc). The options can be
//! overridden at run time with the `_RJEM_MALLOC_CONF` environment variable
//! (jemalloc's `MALLOC_CONF`, with the prefix this build of it uses).

pub use tikv_jemallocator::Jemalloc;

/// jemalloc's options (a C string): one arena (the dataflow's workers are
/// few and each has its thread cache), and no dirty or muzzy pages kept.
pub const MALLOC_CONF: &[u8; MALLOC_CONF_LEN] = b"narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0\0";
/// The length of [`MALLOC_CONF`] with its terminating NUL.
pub const MALLOC_CONF_LEN: usize = 44;

/// Makes jemalloc, with [`MALLOC_CONF`], the allocator of the binary that
/// invokes it (once, at the top level of its crate).
#[macro_export]
macro_rules! use_jemalloc {
    () => {
        #[global_allocator]
        static FLOWC_ALLOCATOR: $crate::alloc::Jemalloc = $crate::alloc::Jemalloc;
        /// Read by jemalloc before `main` (it declares `malloc_conf` weak).
        #[export_name = "_rjem_malloc_conf"]
        #[used]
        static FLOWC_MALLOC_CONF: &[u8; $crate::alloc::MALLOC_CONF_LEN] = $crate::alloc::MALLOC_CONF;
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn malloc_conf_is_one_c_string() {
        let c = super::MALLOC_CONF;
        assert_eq!(c.last(), Some(&0));
        assert!(!c[..c.len() - 1].contains(&0));
        assert!(std::str::from_utf8(&c[..c.len() - 1]).unwrap().split(',').all(|o| o.split_once(':').is_some()));
    }
}
