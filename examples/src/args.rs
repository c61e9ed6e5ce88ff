//! Command-line options of the demo (a few flags: no parser dependency needed).

use std::path::PathBuf;

/// Default fleet size.
pub const DEFAULT_DEVICES: usize = 20_000;
/// Default seed.
pub const DEFAULT_SEED: u64 = 2026;
/// Smallest fleet the scenarios make sense for (the canary ring needs devices of every kind).
pub const MIN_DEVICES: usize = 200;
/// Largest fleet accepted (memory and time stay reasonable).
pub const MAX_DEVICES: usize = 2_000_000;

/// The demo's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Number of devices.
    pub devices: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Where to write the SVG chart; `None` for the default path.
    pub svg: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            devices: DEFAULT_DEVICES,
            seed: DEFAULT_SEED,
            svg: None,
        }
    }
}

/// The usage text.
pub const USAGE: &str = "usage: fleet_rollout [--devices N] [--seed S] [--svg PATH]
  --devices N   fleet size (default 20000, 200 to 2000000)
  --seed S      seed of the simulation (default 2026); the same seed gives the same report
  --svg PATH    where to write the chart (default: <temp dir>/ota-fleet-rollout.svg)";

/// Parses the arguments (without the program name). `Ok(None)` means help was asked for.
///
/// # Errors
///
/// A message naming the bad argument.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--devices" => {
                let v = value()?;
                let n: usize = v
                    .replace(['_', ','], "")
                    .parse()
                    .map_err(|_| format!("--devices: not a number: {v}"))?;
                if !(MIN_DEVICES..=MAX_DEVICES).contains(&n) {
                    return Err(format!(
                        "--devices: {n} is outside {MIN_DEVICES}..={MAX_DEVICES}"
                    ));
                }
                o.devices = n;
            }
            "--seed" => {
                let v = value()?;
                o.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {v}"))?;
            }
            "--svg" => o.svg = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Option<Options>, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags_and_refuses_bad_ones() {
        assert_eq!(p(&[]).unwrap(), Some(Options::default()));
        let o = p(&["--devices", "2_000", "--seed=7", "--svg", "/tmp/x.svg"])
            .unwrap()
            .unwrap();
        assert_eq!((o.devices, o.seed), (2000, 7));
        assert_eq!(o.svg.as_deref(), Some(std::path::Path::new("/tmp/x.svg")));
        assert_eq!(p(&["--help"]).unwrap(), None);
        assert!(p(&["--devices"]).unwrap_err().contains("needs a value"));
        assert!(p(&["--devices", "10"]).unwrap_err().contains("outside"));
        assert!(p(&["--seed", "x"]).unwrap_err().contains("not a number"));
        assert!(
            p(&["--frobnicate"])
                .unwrap_err()
                .contains("unknown argument")
        );
    }
}
