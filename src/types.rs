//! Type names as users write them (`string`, `int64`, `timestamp`, `decimal(10,2)`) and type families.
//!
//! Arrow has many physical types for one logical idea: Parquet strings arrive as `Utf8View`, CSV
//! strings as `Utf8`, timestamps in four units with or without a zone. Schema checks and drift
//! detection compare *families*, so that a file format's choice of representation is never reported
//! as a schema change, while a real change (int64 → string, decimal(10,2) → decimal(12,2)) is.

use datafusion::arrow::datatypes::{DataType, TimeUnit};

/// A type as named in a suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeName {
    String,
    Int(u8),
    UInt(u8),
    /// Any signed or unsigned integer width.
    AnyInt,
    Float(u8),
    /// Any float width.
    AnyFloat,
    Bool,
    Date,
    Timestamp,
    Decimal(u8, i8),
    Binary,
}

/// Every name accepted in `schema.columns` and `[dataset] types`, for help lines.
pub(crate) const TYPE_NAMES: &[&str] = &[
    "string",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int",
    "float32",
    "float64",
    "float",
    "bool",
    "date",
    "timestamp",
    "decimal(p,s)",
    "binary",
];

impl TypeName {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "string" | "utf8" | "str" | "text" => Self::String,
            "int8" => Self::Int(8),
            "int16" => Self::Int(16),
            "int32" => Self::Int(32),
            "int64" => Self::Int(64),
            "uint8" => Self::UInt(8),
            "uint16" => Self::UInt(16),
            "uint32" => Self::UInt(32),
            "uint64" => Self::UInt(64),
            "int" | "integer" => Self::AnyInt,
            "float32" => Self::Float(32),
            "float64" | "double" => Self::Float(64),
            "float" => Self::AnyFloat,
            "bool" | "boolean" => Self::Bool,
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            "binary" | "bytes" => Self::Binary,
            other => {
                let inner = other.strip_prefix("decimal(")?.strip_suffix(')')?;
                let (p, sc) = inner.split_once(',')?;
                let p: u8 = p.trim().parse().ok()?;
                let sc: i8 = sc.trim().parse().ok()?;
                if p == 0 || p > 76 || i16::from(sc) > i16::from(p) {
                    return None;
                }
                Self::Decimal(p, sc)
            }
        })
    }

    /// Whether an Arrow type belongs to this family.
    pub fn matches(&self, dt: &DataType) -> bool {
        match (self, family(dt)) {
            (Self::AnyInt, Some(Self::Int(_) | Self::UInt(_))) => true,
            (Self::AnyFloat, Some(Self::Float(_))) => true,
            (want, Some(have)) => *want == have,
            (_, None) => false,
        }
    }

    /// The Arrow type a column declared with this name is cast to (`None` for the generic `int`/`float`).
    pub fn to_arrow(&self) -> Option<DataType> {
        Some(match self {
            Self::String => DataType::Utf8,
            Self::Int(8) => DataType::Int8,
            Self::Int(16) => DataType::Int16,
            Self::Int(32) => DataType::Int32,
            Self::Int(_) => DataType::Int64,
            Self::UInt(8) => DataType::UInt8,
            Self::UInt(16) => DataType::UInt16,
            Self::UInt(32) => DataType::UInt32,
            Self::UInt(_) => DataType::UInt64,
            Self::Float(32) => DataType::Float32,
            Self::Float(_) => DataType::Float64,
            Self::Bool => DataType::Boolean,
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::Decimal(p, s) if *p <= 38 => DataType::Decimal128(*p, *s),
            Self::Decimal(p, s) => DataType::Decimal256(*p, *s),
            Self::Binary => DataType::Binary,
            Self::AnyInt | Self::AnyFloat => return None,
        })
    }
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::String => f.write_str("string"),
            Self::Int(w) => write!(f, "int{w}"),
            Self::UInt(w) => write!(f, "uint{w}"),
            Self::AnyInt => f.write_str("int"),
            Self::Float(w) => write!(f, "float{w}"),
            Self::AnyFloat => f.write_str("float"),
            Self::Bool => f.write_str("bool"),
            Self::Date => f.write_str("date"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::Decimal(p, s) => write!(f, "decimal({p},{s})"),
            Self::Binary => f.write_str("binary"),
        }
    }
}

/// The family of an Arrow type, or `None` for types suites cannot name (lists, structs, …).
pub(crate) fn family(dt: &DataType) -> Option<TypeName> {
    Some(match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => TypeName::String,
        DataType::Int8 => TypeName::Int(8),
        DataType::Int16 => TypeName::Int(16),
        DataType::Int32 => TypeName::Int(32),
        DataType::Int64 => TypeName::Int(64),
        DataType::UInt8 => TypeName::UInt(8),
        DataType::UInt16 => TypeName::UInt(16),
        DataType::UInt32 => TypeName::UInt(32),
        DataType::UInt64 => TypeName::UInt(64),
        DataType::Float16 => TypeName::Float(16),
        DataType::Float32 => TypeName::Float(32),
        DataType::Float64 => TypeName::Float(64),
        DataType::Boolean => TypeName::Bool,
        DataType::Date32 | DataType::Date64 => TypeName::Date,
        DataType::Timestamp(_, _) => TypeName::Timestamp,
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => TypeName::Decimal(*p, *s),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            TypeName::Binary
        }
        DataType::Dictionary(_, v) => return family(v),
        _ => return None,
    })
}

/// A type's family name for messages (`string`, `timestamp`, or Arrow's name for other types).
pub(crate) fn family_name(dt: &DataType) -> String {
    family(dt).map_or_else(|| dt.to_string().to_lowercase(), |f| f.to_string())
}

pub(crate) fn is_string(dt: &DataType) -> bool {
    matches!(family(dt), Some(TypeName::String))
}

pub(crate) fn is_numeric(dt: &DataType) -> bool {
    matches!(
        family(dt),
        Some(TypeName::Int(_) | TypeName::UInt(_) | TypeName::Float(_) | TypeName::Decimal(..))
    )
}

pub(crate) fn is_temporal(dt: &DataType) -> bool {
    matches!(family(dt), Some(TypeName::Date | TypeName::Timestamp))
}

/// The type two files' versions of one column are read as: the wider of two numbers, a string
/// when they disagree otherwise.
pub(crate) fn unify(a: &DataType, b: &DataType) -> DataType {
    if a == b {
        return a.clone();
    }
    match (family(a), family(b)) {
        (Some(fa), Some(fb)) if fa == fb => a.clone(),
        (Some(TypeName::Int(_) | TypeName::UInt(_)), Some(TypeName::Int(_) | TypeName::UInt(_))) => DataType::Int64,
        (
            Some(TypeName::Int(_) | TypeName::UInt(_) | TypeName::Float(_)),
            Some(TypeName::Int(_) | TypeName::UInt(_) | TypeName::Float(_)),
        ) => DataType::Float64,
        (Some(TypeName::Timestamp), Some(TypeName::Timestamp)) => a.clone(),
        _ if *a == DataType::Null => b.clone(),
        _ if *b == DataType::Null => a.clone(),
        _ => DataType::Utf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_ignore_representation() {
        assert!(TypeName::String.matches(&DataType::Utf8View));
        assert!(TypeName::String.matches(&DataType::LargeUtf8));
        assert!(TypeName::Timestamp.matches(&DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))));
        assert!(TypeName::Timestamp.matches(&DataType::Timestamp(TimeUnit::Second, None)));
        assert!(!TypeName::Int(64).matches(&DataType::Int32));
        assert!(TypeName::AnyInt.matches(&DataType::Int32));
        assert!(TypeName::Decimal(10, 2).matches(&DataType::Decimal128(10, 2)));
        assert!(!TypeName::Decimal(10, 2).matches(&DataType::Decimal128(12, 2)));
    }

    #[test]
    fn parses_names() {
        assert_eq!(TypeName::parse("decimal(10, 2)"), Some(TypeName::Decimal(10, 2)));
        assert_eq!(TypeName::parse("Int64"), Some(TypeName::Int(64)));
        assert_eq!(TypeName::parse("decimal(2,5)"), None);
        assert_eq!(TypeName::parse("varchar"), None);
    }

    #[test]
    fn unify_widens() {
        assert_eq!(unify(&DataType::Int32, &DataType::Int64), DataType::Int64);
        assert_eq!(unify(&DataType::Int64, &DataType::Float64), DataType::Float64);
        assert_eq!(unify(&DataType::Int64, &DataType::Utf8), DataType::Utf8);
        assert_eq!(unify(&DataType::Utf8View, &DataType::Utf8), DataType::Utf8View);
    }
}
