//! Comparison with the population registry (信息比对, R-CMP-1..3): six items, each
//! marked `√` matched, `×` different, or `无` missing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mark {
    #[serde(rename = "√")]
    Match,
    #[serde(rename = "×")]
    Differs,
    #[serde(rename = "无")]
    Missing,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Match => "√",
            Mark::Differs => "×",
            Mark::Missing => "无",
        }
    }
}

/// The six items as one side holds them (birth date as `YYYYMMDD`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Items {
    pub ssn: String,
    pub name: String,
    pub gender: String,
    pub ethnicity: String,
    pub birth_date: String,
    pub photo: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    pub ssn: Mark,
    pub name: Mark,
    pub gender: Mark,
    pub ethnicity: Mark,
    pub birth_date: Mark,
    pub photo: Mark,
}

impl Marks {
    /// R-CMP-3: any `×` or `无` holds the person out of production.
    pub fn all_match(&self) -> bool {
        self.labelled().iter().all(|(_, _, m)| *m == Mark::Match)
    }

    /// (field, Chinese label, mark) in the order of the second-collection form.
    pub fn labelled(&self) -> [(&'static str, &'static str, Mark); 6] {
        [
            ("ssn", "公民身份号码", self.ssn),
            ("name", "姓名", self.name),
            ("gender", "性别", self.gender),
            ("ethnicity", "民族", self.ethnicity),
            ("birth_date", "出生日期", self.birth_date),
            ("photo", "照片", self.photo),
        ]
    }
}

fn mark(record: &str, registry: &str) -> Mark {
    if record.trim().is_empty() {
        Mark::Missing
    } else if record.trim() == registry.trim() {
        Mark::Match
    } else {
        Mark::Differs
    }
}

/// R-CMP-1, R-CMP-2: the record against the registry's row (`None`: the registry has
/// no such ID number, so every item is missing there and must be collected).
pub fn compare(record: &Items, registry: Option<&Items>) -> Marks {
    let Some(reg) = registry else {
        return Marks { ssn: Mark::Missing, name: Mark::Missing, gender: Mark::Missing, ethnicity: Mark::Missing, birth_date: Mark::Missing, photo: Mark::Missing };
    };
    let photo = match (&record.photo, &reg.photo) {
        (None, _) => Mark::Missing,
        (Some(_), None) => Mark::Match,
        (Some(a), Some(b)) if a == b => Mark::Match,
        _ => Mark::Differs,
    };
    Marks {
        ssn: mark(&record.ssn, &reg.ssn),
        name: mark(&record.name, &reg.name),
        gender: mark(&record.gender, &reg.gender),
        ethnicity: mark(&record.ethnicity, &reg.ethnicity),
        birth_date: mark(&record.birth_date, &reg.birth_date),
        photo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(name: &str, photo: Option<&str>) -> Items {
        Items {
            ssn: "11010519491231002X".into(),
            name: name.into(),
            gender: "female".into(),
            ethnicity: "01".into(),
            birth_date: "19491231".into(),
            photo: photo.map(String::from),
        }
    }

    #[test]
    fn r_cmp_2_marks_each_item() {
        let m = compare(&items("张三", Some("p1")), Some(&items("张三", Some("p1"))));
        assert!(m.all_match());
        let m = compare(&items("张叁", None), Some(&items("张三", Some("p1"))));
        assert_eq!((m.name, m.photo, m.gender), (Mark::Differs, Mark::Missing, Mark::Match));
        assert!(!m.all_match());
        let m = compare(&items("张三", Some("p1")), None);
        assert_eq!(m.ssn, Mark::Missing);
        assert_eq!(serde_json::to_string(&Mark::Differs).unwrap(), "\"×\"");
    }
}
