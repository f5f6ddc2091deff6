//! Strict loading of a region file, with line numbers in every error.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveTime};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::schema::{self, Unit};
use super::{DatedValue, Parameter, PolicyError, PolicyValue, RegionPolicy};

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].bytes().filter(|b| *b == b'\n').count() + 1
    }
    fn err(&self, offset: usize, problem: impl Into<String>) -> PolicyError {
        PolicyError::BadFile { file: self.file.into(), line: self.line(offset), problem: problem.into() }
    }
}

/// Parses and validates one region file.
pub fn parse_region(file: &str, text: &str) -> Result<RegionPolicy, PolicyError> {
    let cx = Ctx { file, text };
    let doc = DeTable::parse(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        cx.err(at, e.message().to_string())
    })?;
    let known: HashMap<String, (Unit, &str)> = schema::expanded().into_iter().map(|(n, u, d)| (n, (u, d))).collect();

    let mut header: Option<(String, String, String)> = None;
    let mut parameters = BTreeMap::new();
    for (key, value) in doc.get_ref() {
        if key.get_ref() == "region" {
            header = Some(region_header(&cx, value)?);
            continue;
        }
        collect(&cx, &known, key.get_ref().to_string(), key.span().start, value, &mut parameters)?;
    }
    let (code, name, admdvs) = header.ok_or_else(|| cx.err(0, "the [region] table (code, name, admdvs) is missing"))?;
    for required in schema::REQUIRED {
        if !parameters.contains_key(*required) {
            return Err(cx.err(0, format!("required parameter {required} is missing")));
        }
    }
    Ok(RegionPolicy { code, name, admdvs, file: file.into(), parameters })
}

fn region_header(cx: &Ctx, value: &Spanned<DeValue>) -> Result<(String, String, String), PolicyError> {
    let DeValue::Table(t) = value.get_ref() else {
        return Err(cx.err(value.span().start, "region must be a table with code, name and admdvs"));
    };
    let mut fields: HashMap<&str, String> = HashMap::new();
    for (k, v) in t {
        let k = k.get_ref().as_ref();
        if !["code", "name", "admdvs"].contains(&k) {
            return Err(cx.err(v.span().start, format!("unknown key region.{k}")));
        }
        let DeValue::String(s) = v.get_ref() else {
            return Err(cx.err(v.span().start, format!("region.{k} must be a string")));
        };
        fields.insert(k, s.to_string());
    }
    let mut take = |k: &str| fields.remove(k).ok_or_else(|| cx.err(value.span().start, format!("region.{k} is missing")));
    let code = take("code")?;
    let name = take("name")?;
    let admdvs = take("admdvs")?;
    if admdvs.len() != 6 || !admdvs.chars().all(|c| c.is_ascii_digit()) {
        return Err(cx.err(value.span().start, format!("region.admdvs must be a 6-digit division code, not {admdvs:?}")));
    }
    Ok((code, name, admdvs))
}

/// Walks nested tables down to parameters (arrays of dated values).
fn collect(
    cx: &Ctx,
    known: &HashMap<String, (Unit, &str)>,
    path: String,
    key_at: usize,
    value: &Spanned<DeValue>,
    out: &mut BTreeMap<String, Parameter>,
) -> Result<(), PolicyError> {
    match value.get_ref() {
        DeValue::Table(t) => {
            for (k, v) in t {
                collect(cx, known, format!("{path}.{}", k.get_ref()), k.span().start, v, out)?;
            }
            Ok(())
        }
        DeValue::Array(items) => {
            let Some((unit, _)) = known.get(&path) else {
                return Err(cx.err(key_at, format!("unknown key {path}")));
            };
            let mut values: Vec<DatedValue> = Vec::new();
            for item in items {
                let v = dated_value(cx, &path, *unit, item)?;
                if let Some(prev) = values.last()
                    && v.from <= prev.from
                {
                    return Err(cx.err(item.span().start, format!("{path}: dates out of order ({} does not come after {})", v.from, prev.from)));
                }
                values.push(v);
            }
            if values.is_empty() {
                return Err(cx.err(key_at, format!("{path} has no values")));
            }
            let line = cx.line(key_at);
            out.insert(path.clone(), Parameter { name: path, unit: *unit, line, values });
            Ok(())
        }
        _ => {
            if known.contains_key(&path) {
                Err(cx.err(key_at, format!("{path} must be a list of dated values like [{{ from = 2024-01-01, …, source = \"…\" }}]")))
            } else {
                Err(cx.err(key_at, format!("unknown key {path}")))
            }
        }
    }
}

fn dated_value(cx: &Ctx, path: &str, unit: Unit, item: &Spanned<DeValue>) -> Result<DatedValue, PolicyError> {
    let at = item.span().start;
    let line = cx.line(at);
    let DeValue::Table(t) = item.get_ref() else {
        return Err(cx.err(at, format!("{path}: each value must be a table {{ from, {}, source }}", unit.key())));
    };
    let mut from = None;
    let mut until = None;
    let mut source = None;
    let mut value = None;
    for (k, v) in t {
        let k = k.get_ref().as_ref();
        let vat = v.span().start;
        match k {
            "from" => from = Some(date(cx, path, "from", v)?),
            "until" => until = Some(date(cx, path, "until", v)?),
            "source" => match v.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => source = Some(s.to_string()),
                _ => return Err(cx.err(vat, format!("{path}: source must be a non-empty note of where the value comes from"))),
            },
            "note" => {}
            other if other == unit.key() => value = Some(typed(cx, path, unit, v)?),
            other if Unit::ALL.iter().any(|u| u.key() == other) => {
                return Err(cx.err(vat, format!("{path} is in {}, not {other}", unit.key())));
            }
            other => return Err(cx.err(vat, format!("{path}: unknown key {other}"))),
        }
    }
    let from = from.ok_or_else(|| cx.err(at, format!("{path}: a value without its date (from)")))?;
    let value = value.ok_or_else(|| cx.err(at, format!("{path}: a value without its unit ({} = …)", unit.key())))?;
    let source = source.ok_or_else(|| cx.err(at, format!("{path}: a value without its source note")))?;
    if let Some(u) = until
        && u <= from
    {
        return Err(cx.err(at, format!("{path}: until {u} is not after from {from}")));
    }
    Ok(DatedValue { from, until, value, source, line })
}

fn date(cx: &Ctx, path: &str, what: &str, v: &Spanned<DeValue>) -> Result<NaiveDate, PolicyError> {
    let bad = || cx.err(v.span().start, format!("{path}: {what} must be a date like 2024-01-01"));
    match v.get_ref() {
        DeValue::Datetime(dt) => match (dt.date, dt.time) {
            (Some(d), None) => NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)).ok_or_else(bad),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

fn typed(cx: &Ctx, path: &str, unit: Unit, v: &Spanned<DeValue>) -> Result<PolicyValue, PolicyError> {
    let at = v.span().start;
    let key = unit.key();
    match (unit, v.get_ref()) {
        (Unit::Flag, DeValue::Boolean(b)) => Ok(PolicyValue::Flag(*b)),
        (Unit::Text, DeValue::String(s)) => Ok(PolicyValue::Text(s.to_string())),
        (Unit::Fund, DeValue::String(s)) if schema::FUNDS.contains(&s.as_ref()) => Ok(PolicyValue::Text(s.to_string())),
        (Unit::Fund, DeValue::String(s)) => Err(cx.err(at, format!("{path}: {s:?} is not a fund (known: {})", schema::FUNDS.join(", ")))),
        (Unit::ClockTime, DeValue::Datetime(dt)) => match (dt.date, dt.time) {
            (None, Some(t)) => NaiveTime::from_hms_opt(u32::from(t.hour), u32::from(t.minute), u32::from(t.second.unwrap_or(0)))
                .map(PolicyValue::Time)
                .ok_or_else(|| cx.err(at, format!("{path}: not a time of day"))),
            _ => Err(cx.err(at, format!("{path}: time must be a time of day like 06:00:00"))),
        },
        (Unit::Flag | Unit::Text | Unit::Fund | Unit::ClockTime, _) => Err(cx.err(at, format!("{path}: {key} has the wrong type"))),
        (_, DeValue::Integer(i)) => {
            let n = i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| cx.err(at, format!("{path}: {key} is out of range")))?;
            let ok = match unit {
                Unit::Bp => (0..=10_000).contains(&n),
                Unit::DayOfMonth => (1..=31).contains(&n),
                _ => n >= 0,
            };
            if ok { Ok(PolicyValue::Integer(n)) } else { Err(cx.err(at, format!("{path}: {key} = {n} is out of range"))) }
        }
        (_, DeValue::Float(_)) => Err(cx.err(at, format!("{path}: {key} must be a whole number (money in fen, ratios in basis points)"))),
        _ => Err(cx.err(at, format!("{path}: {key} must be a whole number"))),
    }
}
