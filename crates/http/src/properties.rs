//! The properties of the national interface's request reading that the fuzz target
//! (`fuzz/`, target `his`) and the bounded proptest run of the test command both check:
//! any bytes sent as a request are refused in the interface's words (`[code] message`)
//! or read into an envelope whose fields are the body's, and a 2204's fee lines into
//! numbers that are exact — never a panic.

use yikatong_core::money::Fen;

/// Any bytes as a HIS request: not JSON, a coded refusal, or fee lines whose amounts
/// print back as the same fen.
pub fn his_request(bytes: &[u8]) {
    let envelope = match crate::Envelope::read(bytes, None) {
        Err(message) => return assert!(message.starts_with('[') && message.contains("] "), "{message}"),
        Ok(e) => e,
    };
    assert!(!envelope.msgid.is_empty() && envelope.msgid.chars().count() <= 30);
    // The same body at the path of its own code reads the same; at another, it is refused.
    assert_eq!(crate::Envelope::read(bytes, Some(&envelope.infno)).as_ref(), Ok(&envelope));
    assert!(crate::Envelope::read(bytes, Some("x-not-a-code")).is_err_and(|m| m.starts_with("[infno_mismatch]")));
    let input = envelope.input;
    match crate::fee_lines_of(&input) {
        Err(message) => assert!(message.starts_with('[') && message.contains("] "), "{message}"),
        Ok((_, _, lines)) => match yikatong_service::parse_fee_lines(&lines) {
            Err(e) => assert_eq!(e.status(), 422, "{e}"),
            Ok(parsed) => {
                assert_eq!(parsed.len(), lines.len());
                for line in parsed {
                    assert!(line.amount.within_limits() && line.qty_e4 >= 0 && line.price_e6 >= 0);
                    assert_eq!(Fen::parse_yuan(&line.amount.to_string()), Some(line.amount));
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    fn field() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            "-?[0-9]{0,10}(\\.[0-9]{0,7})?".prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            Just(serde_json::Value::Null),
            "\\PC{0,8}".prop_map(serde_json::Value::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_2204_request_is_refused_with_a_code_or_read_exactly(lines in proptest::collection::vec((field(), field(), field(), any::<bool>()), 0..6)) {
            let feedetail: Vec<_> = lines.into_iter().enumerate().map(|(n, (cnt, pric, sum, same))| json!({
                "feedetl_sn": format!("{n}"), "mdtrt_id": if same { "V1" } else { "V2" }, "chrg_bchno": "B1", "med_list_codg": "A1", "cnt": cnt, "pric": pric, "det_item_fee_sumamt": sum,
            })).collect();
            let body = json!({"infno": "2204", "msgid": "M1", "input": {"feedetail": feedetail}});
            super::his_request(body.to_string().as_bytes());
        }

        /// Envelopes as clients build them: any field a string, a number, null or
        /// missing, extra fields, indented or compact.
        #[test]
        fn any_envelope_is_read_or_refused_in_the_interfaces_words(infno in field(), msgid in field(), inst in field(), extra in field(), pretty in any::<bool>()) {
            let body = json!({"infno": infno, "msgid": msgid, "fixmedins_code": inst, "infver": "V1.0", "dev_safe_info": extra, "input": {"data": {"psn_no": extra}}});
            let text = if pretty { serde_json::to_string_pretty(&body).unwrap() } else { body.to_string() };
            super::his_request(text.as_bytes());
        }

        #[test]
        fn any_bytes_as_a_his_request_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            super::his_request(&bytes);
        }
    }
}
