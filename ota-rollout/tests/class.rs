//! Plans by release class: a security release gets its own plan (faster rings, its own gate
//! thresholds), every other release the regular one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_rollout::{Error, Limits, PlanSet, ReleaseClass, Rule};

const SET: &str = r#"{
  "regular": {"salt": "r", "rings": [
    {"name": "canary", "share": 0.01, "gate": {"min_soak_secs": 86400,
      "rule": {"kind": "threshold", "max_failure_percent": 1, "min_executions": 100}}},
    {"name": "all", "share": 0.99, "gate": {"rule": {"kind": "manual"}}}],
    "rate": {"base_per_minute": 10, "maximum_per_minute": 100}},
  "security": {"salt": "s", "rings": [
    {"name": "canary", "share": 0.05, "gate": {"min_soak_secs": 3600,
      "rule": {"kind": "threshold", "max_failure_percent": 5, "min_executions": 20}}},
    {"name": "all", "share": 0.95, "gate": {"rule": {"kind": "manual"}}}],
    "rate": {"base_per_minute": 1000, "maximum_per_minute": 10000}}
}"#;

#[test]
fn a_security_release_gets_its_own_rings_rate_and_gate() {
    let set = PlanSet::from_json(SET.as_bytes(), &Limits::default()).unwrap();
    let sec = set.for_class(ReleaseClass::Security);
    let reg = set.for_class(ReleaseClass::Regular);
    assert_eq!(sec.salt, "s");
    assert_eq!(reg.salt, "r");
    assert_eq!(sec.rings[0].gate.min_soak_secs, 3600);
    assert_eq!(reg.rings[0].gate.min_soak_secs, 86_400);
    let Rule::Threshold(t) = &sec.rings[0].gate.rule else {
        panic!("threshold")
    };
    assert_eq!((t.max_failure_percent, t.min_executions), (5.0, 20));
    assert_eq!(sec.rate.as_ref().unwrap().base_per_minute, 1000);
    assert_eq!(reg.rate.as_ref().unwrap().base_per_minute, 10);
}

#[test]
fn without_a_security_plan_security_releases_use_the_regular_one() {
    let v: serde_json::Value = serde_json::from_str(SET).unwrap();
    let only = serde_json::json!({"regular": v["regular"]});
    let set = PlanSet::from_json(only.to_string().as_bytes(), &Limits::default()).unwrap();
    assert_eq!(set.for_class(ReleaseClass::Security).salt, "r");
}

#[test]
fn an_invalid_security_plan_is_refused_with_its_path() {
    let bad = SET.replace(r#""share": 0.95"#, r#""share": 1.5"#);
    match PlanSet::from_json(bad.as_bytes(), &Limits::default()) {
        Err(Error::InvalidPlan { field, .. }) => {
            assert!(field.starts_with("/security/rings/1"), "{field}")
        }
        other => panic!("{other:?}"),
    }
    let unknown = SET.replacen(r#""regular""#, r#""feature""#, 1);
    assert!(matches!(
        PlanSet::from_json(unknown.as_bytes(), &Limits::default()),
        Err(Error::Json { .. })
    ));
}
