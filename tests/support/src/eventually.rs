//! Bounded polling for asynchronous conditions.
//!
//! Every timeout passes through [`scaled`], which multiplies it by the `EDGEX_TEST_PATIENCE`
//! environment variable (a positive float, default 1.0) so slow CI machines can stretch all
//! waits at once without touching tests.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// The patience multiplier read from `EDGEX_TEST_PATIENCE`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patience(pub f64);

/// Current patience multiplier (`EDGEX_TEST_PATIENCE`, default 1.0; invalid values count as 1.0).
pub fn patience() -> Patience {
    let v = std::env::var("EDGEX_TEST_PATIENCE")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(1.0);
    Patience(v)
}

/// `d` multiplied by the patience multiplier.
pub fn scaled(d: Duration) -> Duration {
    d.mul_f64(patience().0)
}

/// Poll `f` until it returns `Ok`, or until `timeout` (scaled by patience) has passed; then
/// return the last error. Polls start at 5 ms apart and back off to 100 ms.
pub async fn eventually<T, E, F, Fut>(timeout: Duration, mut f: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + scaled(timeout);
    let mut delay = Duration::from_millis(5);
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// Like [`eventually`] for a boolean condition; panics with `what` and the last debug value.
pub async fn wait_until<F, Fut, D>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = (bool, D)>,
    D: Debug,
{
    let r = eventually(timeout, || {
        let fut = f();
        async move {
            let (ok, dbg) = fut.await;
            if ok { Ok(()) } else { Err(dbg) }
        }
    })
    .await;
    if let Err(last) = r {
        panic!(
            "condition not met within {:?}: {what}; last: {last:?}",
            scaled(timeout)
        );
    }
}

/// Poll an async boolean expression until true or panic after the timeout (scaled by
/// `EDGEX_TEST_PATIENCE`).
///
/// ```text
/// assert_eventually!(Duration::from_secs(5), async { counter.load(SeqCst) == 3 });
/// assert_eventually!(Duration::from_secs(5), async { rx.len() > 0 }, "message arrives");
/// ```
#[macro_export]
macro_rules! assert_eventually {
    ($timeout:expr, $cond:expr $(,)?) => {
        $crate::assert_eventually!($timeout, $cond, "{}", stringify!($cond))
    };
    ($timeout:expr, $cond:expr, $($msg:tt)+) => {{
        let __r = $crate::eventually::eventually($timeout, || async {
            if $cond.await { Ok(()) } else { Err(()) }
        })
        .await;
        if __r.is_err() {
            panic!(
                "assert_eventually failed after {:?}: {}",
                $crate::eventually::scaled($timeout),
                format!($($msg)+)
            );
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn eventually_returns_first_success() {
        let n = Arc::new(AtomicU32::new(0));
        let v = eventually(Duration::from_secs(2), || {
            let n = n.clone();
            async move {
                let c = n.fetch_add(1, Ordering::SeqCst);
                if c >= 3 { Ok(c) } else { Err(c) }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn eventually_gives_up_with_last_error() {
        let r: Result<(), &str> =
            eventually(Duration::from_millis(30), || async { Err("never") }).await;
        assert_eq!(r, Err("never"));
    }

    #[tokio::test]
    #[should_panic(expected = "assert_eventually failed")]
    async fn assert_eventually_panics_when_condition_stays_false() {
        assert_eventually!(Duration::from_millis(20), async { false });
    }

    #[tokio::test]
    async fn assert_eventually_passes_when_condition_turns_true() {
        let n = AtomicU32::new(0);
        assert_eventually!(Duration::from_secs(2), async {
            n.fetch_add(1, Ordering::SeqCst) > 2
        });
    }
}
