#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The selector language: evaluation against a reference evaluator written differently, JSON
//! round trips, explanations, limits and negative fixtures.

use std::collections::BTreeMap;

use ota_rollout::{Attributes, Error, Limits, Mismatch, Plan, Selector};
use proptest::prelude::*;

/// A simple version requirement the reference understands: one comparator.
#[derive(Debug, Clone, Copy)]
enum Cmp {
    Ge,
    Lt,
    Eq,
}

/// The reference: the selector compiled to a postfix program, run on an explicit stack, with
/// versions compared as numeric triples parsed by hand (no semver crate).
enum Op {
    Leaf(Box<dyn Fn(&Attributes) -> bool>),
    And(usize),
    Or(usize),
    Not,
}

/// Generates a selector together with the reference's view of its version leaves.
#[derive(Debug, Clone)]
enum Gen {
    Eq(String, String),
    In(String, Vec<String>),
    Ver(String, Cmp, (u64, u64, u64)),
    Exists(String),
    All(Vec<Gen>),
    Any(Vec<Gen>),
    Not(Box<Gen>),
}

fn attr() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("hw".to_string()),
        Just("region".to_string()),
        Just("fw".to_string()),
        Just("lab".to_string())
    ]
}
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("1.2.3".to_string())
    ]
}
fn triple() -> impl Strategy<Value = (u64, u64, u64)> {
    (0u64..3, 0u64..3, 0u64..3)
}

fn selector_gen() -> impl Strategy<Value = Gen> {
    let leaf = prop_oneof![
        (attr(), value()).prop_map(|(a, v)| Gen::Eq(a, v)),
        (attr(), proptest::collection::vec(value(), 0..3)).prop_map(|(a, v)| Gen::In(a, v)),
        (
            Just("fw".to_string()),
            prop_oneof![Just(Cmp::Ge), Just(Cmp::Lt), Just(Cmp::Eq)],
            triple()
        )
            .prop_map(|(a, c, t)| Gen::Ver(a, c, t)),
        attr().prop_map(Gen::Exists),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Gen::All),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Gen::Any),
            inner.prop_map(|g| Gen::Not(Box::new(g))),
        ]
    })
}

fn to_selector(g: &Gen) -> Selector {
    match g {
        Gen::Eq(a, v) => Selector::Equals {
            attr: a.clone(),
            value: v.clone(),
        },
        Gen::In(a, v) => Selector::In {
            attr: a.clone(),
            values: v.iter().cloned().collect(),
        },
        Gen::Ver(a, c, (x, y, z)) => {
            let op = match c {
                Cmp::Ge => ">=",
                Cmp::Lt => "<",
                Cmp::Eq => "=",
            };
            Selector::Version {
                attr: a.clone(),
                req: format!("{op}{x}.{y}.{z}").parse().unwrap(),
            }
        }
        Gen::Exists(a) => Selector::Exists { attr: a.clone() },
        Gen::All(v) => Selector::All(v.iter().map(to_selector).collect()),
        Gen::Any(v) => Selector::Any(v.iter().map(to_selector).collect()),
        Gen::Not(g) => Selector::Not(Box::new(to_selector(g))),
    }
}

fn parse_triple(s: &str) -> Option<(u64, u64, u64)> {
    let mut it = s.split('.');
    let t = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    if it.next().is_some() { None } else { Some(t) }
}

fn compile(g: &Gen, prog: &mut Vec<Op>) {
    match g.clone() {
        Gen::Eq(a, v) => prog.push(Op::Leaf(Box::new(move |m: &Attributes| {
            m.get(&a).map(String::as_str) == Some(v.as_str())
        }))),
        Gen::In(a, vs) => prog.push(Op::Leaf(Box::new(move |m: &Attributes| {
            m.get(&a).is_some_and(|x| vs.iter().any(|v| v == x))
        }))),
        Gen::Ver(a, c, t) => prog.push(Op::Leaf(Box::new(move |m: &Attributes| {
            match m.get(&a).and_then(|v| parse_triple(v)) {
                None => false,
                Some(v) => match c {
                    Cmp::Ge => v >= t,
                    Cmp::Lt => v < t,
                    Cmp::Eq => v == t,
                },
            }
        }))),
        Gen::Exists(a) => prog.push(Op::Leaf(Box::new(move |m: &Attributes| m.contains_key(&a)))),
        Gen::All(v) => {
            for x in &v {
                compile(x, prog);
            }
            prog.push(Op::And(v.len()));
        }
        Gen::Any(v) => {
            for x in &v {
                compile(x, prog);
            }
            prog.push(Op::Or(v.len()));
        }
        Gen::Not(x) => {
            compile(&x, prog);
            prog.push(Op::Not);
        }
    }
}

fn run(prog: &[Op], m: &Attributes) -> bool {
    let mut stack: Vec<bool> = Vec::new();
    for op in prog {
        match op {
            Op::Leaf(f) => stack.push(f(m)),
            Op::And(n) => {
                let args = stack.split_off(stack.len() - n);
                stack.push(!args.contains(&false));
            }
            Op::Or(n) => {
                let args = stack.split_off(stack.len() - n);
                stack.push(args.contains(&true));
            }
            Op::Not => {
                let x = stack.pop().unwrap();
                stack.push(!x);
            }
        }
    }
    assert_eq!(stack.len(), 1);
    stack[0]
}

fn attrs() -> impl Strategy<Value = Attributes> {
    proptest::collection::btree_map(
        attr(),
        prop_oneof![
            value(),
            triple().prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
            Just("x.y".to_string())
        ],
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn matches_reference(g in selector_gen(), devices in proptest::collection::vec(attrs(), 1..16)) {
        let sel = to_selector(&g);
        let mut prog = Vec::new();
        compile(&g, &mut prog);
        for m in &devices {
            let want = run(&prog, m);
            prop_assert_eq!(sel.matches(m), want, "{:?} on {:?}", sel, m);
            // explain agrees with matches, and a failure names a node that exists.
            match sel.explain(m) {
                Ok(()) => prop_assert!(want),
                Err(why) => {
                    prop_assert!(!want);
                    prop_assert!(why.path.starts_with('/'));
                    prop_assert!(!why.to_string().is_empty());
                }
            }
        }
    }

    #[test]
    fn json_round_trip(g in selector_gen()) {
        let sel = to_selector(&g);
        let json = sel.to_json();
        let back = Selector::from_json(json.as_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(&back, &sel);
        prop_assert_eq!(back.to_json(), json);
    }

    /// Arbitrary bytes never panic the decoders.
    #[test]
    fn decoders_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Selector::from_json(&bytes, &Limits::default());
        let _ = Plan::from_json(&bytes, &Limits::default());
    }
}

#[test]
fn explanations_name_the_failing_node() {
    let sel = Selector::from_json(
        br#"{"all":[{"exists":{"attr":"hw"}},{"version":{"attr":"fw","req":">=2.0.0"}}]}"#,
        &Limits::default(),
    )
    .unwrap();
    let mut m = BTreeMap::new();
    m.insert("hw".to_string(), "b".to_string());
    m.insert("fw".to_string(), "1.9.9".to_string());
    let why = sel.explain(&m).unwrap_err();
    assert_eq!(why.path, "/all/1/version");
    assert_eq!(
        why.mismatch,
        Mismatch::VersionOutOfRange {
            attr: "fw".into(),
            actual: "1.9.9".into(),
            req: ">=2.0.0".into()
        }
    );
    m.insert("fw".to_string(), "two".to_string());
    assert!(matches!(
        sel.explain(&m).unwrap_err().mismatch,
        Mismatch::NotAVersion { .. }
    ));
    m.remove("hw");
    let why = sel.explain(&m).unwrap_err();
    assert_eq!(why.path, "/all/0/exists");
    assert_eq!(
        why.to_string(),
        "/all/0/exists: attribute \"hw\" is missing"
    );
}

#[test]
fn depth_and_node_limits() {
    let limits = Limits::default();
    // 40 nested `not`s: valid JSON, deeper than the limit of 32.
    let mut json = String::from(r#"{"exists":{"attr":"a"}}"#);
    for _ in 0..40 {
        json = format!(r#"{{"not":{json}}}"#);
    }
    assert!(matches!(
        Selector::from_json(json.as_bytes(), &limits),
        Err(Error::TooDeep { limit: 32, .. })
    ));
    // 100,000 levels: stopped by the JSON decoder's own recursion limit, no stack overflow.
    let deep = "{\"not\":".repeat(100_000) + r#"{"exists":{"attr":"a"}}"# + &"}".repeat(100_000);
    assert!(matches!(
        Selector::from_json(
            deep.as_bytes(),
            &Limits {
                max_bytes: usize::MAX,
                ..limits
            }
        ),
        Err(Error::Json { .. })
    ));
    // Too large.
    assert!(matches!(
        Selector::from_json(
            deep.as_bytes(),
            &Limits {
                max_bytes: 4096,
                ..limits
            }
        ),
        Err(Error::TooLarge { limit: 4096, .. })
    ));
    // Too many nodes.
    let wide = format!(
        r#"{{"any":[{}]}}"#,
        vec![r#"{"exists":{"attr":"a"}}"#; 5000].join(",")
    );
    assert!(matches!(
        Selector::from_json(wide.as_bytes(), &limits),
        Err(Error::TooManyNodes { limit: 4096 })
    ));
}

/// Negative fixtures: each file under tests/data/bad-<kind>-*.json is a plan that must be
/// refused with an error of that kind.
#[test]
fn negative_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with("bad-") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let err = Plan::from_json(&bytes, &Limits::default()).unwrap_err();
        let kind = match err {
            Error::Json { .. } => "json",
            Error::InvalidPlan { .. } => "invalid",
            Error::TooDeep { .. } => "deep",
            Error::TooLarge { .. } => "large",
            Error::TooManyNodes { .. } => "nodes",
            other => panic!("{name}: unexpected {other:?}"),
        };
        assert!(
            name.starts_with(&format!("bad-{kind}-")),
            "{name}: got {kind} ({err})"
        );
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} fixtures");
    let good = std::fs::read(dir.join("good-plan.json")).unwrap();
    let plan = Plan::from_json(&good, &Limits::default()).unwrap();
    assert_eq!(plan.rings.len(), 3);
}
