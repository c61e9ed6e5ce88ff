//! The topic parser on arbitrary text (a topic comes from the broker, so from outside): it never
//! panics, whatever it accepts is a topic of the layout that it builds back to the same text, and
//! every topic of the layout for every valid device id parses back to its device and kind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_mqtt::{DeviceId, TopicKind, Topics, parse_topic};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = TopicKind> {
    proptest::sample::select(TopicKind::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_text_parses_only_to_a_topic_that_builds_back(s in ".{0,120}") {
        if let Ok((device, kind)) = parse_topic(&s) {
            prop_assert_eq!(Topics::new(device).topic(kind), s);
        }
    }

    #[test]
    fn mutated_topics_parse_only_to_themselves(
        id in "[A-Za-z0-9._-]{1,64}",
        k in kind(),
        at in any::<prop::sample::Index>(),
        ch in any::<char>(),
    ) {
        let topic = Topics::new(DeviceId::new(id).unwrap()).topic(k);
        let mut chars: Vec<char> = topic.chars().collect();
        let i = at.index(chars.len());
        chars[i] = ch;
        let changed: String = chars.into_iter().collect();
        if let Ok((device, kind)) = parse_topic(&changed) {
            prop_assert_eq!(Topics::new(device).topic(kind), changed);
        }
    }

    #[test]
    fn every_topic_of_the_layout_parses_back(id in "[A-Za-z0-9._-]{1,64}", k in kind()) {
        let device = DeviceId::new(id).unwrap();
        let topic = Topics::new(device.clone()).topic(k);
        prop_assert_eq!(parse_topic(&topic).unwrap(), (device, k));
    }

    #[test]
    fn invalid_device_levels_are_refused(id in ".{0,80}", k in kind()) {
        let layout = Topics::new(DeviceId::new("d").unwrap()).topic(k);
        let suffix = layout.strip_prefix("ota/v1/d/").unwrap();
        let topic = format!("ota/v1/{id}/{suffix}");
        let valid = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        prop_assert_eq!(parse_topic(&topic).is_ok(), valid, "{}", topic);
    }
}
