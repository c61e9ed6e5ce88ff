//! Deterministic twin-like JSON documents for the twin benchmarks and the comparison runner.

use serde_json::{Map, Value, json};

/// A small linear congruential generator: the same documents on every run, no dependency.
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 31 random bits.
    pub fn next_u31(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u31() % n.max(1)
    }
}

fn sensor(r: &mut Lcg, i: u64) -> Value {
    let kind = ["temp", "humidity", "vibration", "current"][r.below(4) as usize];
    json!({
        "id": i,
        "name": format!("sensor-{i:05}"),
        "kind": kind,
        "rate_hz": r.below(100),
        "thresholds": [r.below(1000), r.below(1000), (r.below(1000) as f64) / 8.0],
        "enabled": r.below(2) == 0
    })
}

/// A twin-like document of about `target` bytes of compact JSON: firmware info, nested
/// configuration groups, an array of sensor objects and an array of log lines.
pub fn document(target: usize) -> Value {
    let mut r = Lcg(target as u64);
    let mut config = Map::new();
    let mut sensors = Vec::new();
    let mut log = Vec::new();
    let mut approx = 64usize;
    let mut i = 0u64;
    while approx < target {
        let piece = match i % 4 {
            0 | 1 => {
                let s = sensor(&mut r, i);
                let len = s.to_string().len() + 1;
                sensors.push(s);
                len
            }
            2 => {
                let line = format!(
                    "{:08} boot ok slot={} crc={:08x}",
                    i,
                    r.below(2),
                    r.next_u31()
                );
                let len = line.len() + 3;
                log.push(json!(line));
                len
            }
            _ => {
                let g = json!({"interval_s": r.below(3600), "mode": "auto", "retries": r.below(8)});
                let len = g.to_string().len() + 14;
                config.insert(format!("group{i:04}"), g);
                len
            }
        };
        approx += piece;
        i += 1;
    }
    json!({
        "fw": {"version": "2.3.1", "slot": "a", "bootloader": "1.0.7"},
        "config": config,
        "sensors": sensors,
        "log": log
    })
}

/// What a realistic update does to [`document`]: a few leaf changes, two sensors inserted in the
/// middle of the array, one log line dropped near the start, one sensor moved to the end, one
/// configuration group renamed and one added.
pub fn modified(a: &Value) -> Value {
    let mut b = a.clone();
    let mut r = Lcg(7);
    if let Some(sensors) = b.get_mut("sensors").and_then(Value::as_array_mut) {
        let n = sensors.len();
        for _ in 0..(n / 50).max(1) {
            if n == 0 {
                break;
            }
            let k = r.below(n as u64) as usize;
            sensors[k]["rate_hz"] = json!(r.below(100) + 100);
        }
        sensors.insert(n / 2, sensor(&mut r, 900_001));
        sensors.insert(n / 2, sensor(&mut r, 900_002));
        if sensors.len() > 3 {
            let moved = sensors.remove(1);
            sensors.push(moved);
        }
    }
    if let Some(log) = b
        .get_mut("log")
        .and_then(Value::as_array_mut)
        .filter(|l| l.len() > 2)
    {
        log.remove(1);
    }
    if let Some(config) = b.get_mut("config").and_then(Value::as_object_mut) {
        let first = config.keys().next().cloned();
        if let Some((k, v)) = first.and_then(|k| config.remove(&k).map(|v| (k, v))) {
            config.insert(format!("{k}-renamed"), v);
        }
        config.insert(
            "new-group".into(),
            json!({"interval_s": 5, "mode": "manual"}),
        );
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_deterministic_and_near_their_size() {
        for target in [1 << 10, 100 << 10] {
            let a = document(target);
            assert_eq!(a, document(target));
            let len = a.to_string().len();
            assert!(
                len >= target * 9 / 10 && len < target + target / 4 + 512,
                "{target} -> {len}"
            );
            let b = modified(&a);
            assert_ne!(a, b);
            assert_eq!(b, modified(&a));
        }
    }
}
