//! The line of a CSV file a read error is about, counted in the file.
//!
//! Arrow's CSV reader counts lines from the start of the byte range it was given, and DataFusion
//! splits files over 10 MB across partitions; a value that does not parse is counted from the first
//! data record, not the first line. Its "line N" can therefore be far off. When a scan fails, the
//! file is read again with the same rules (the `csv` crate, which arrow's reader is built on) to
//! find the record the error describes, and the message gets that record's line in the file.

use crate::suite::CsvSpec;

/// What a read error says is wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `value` in field `column` (0-based) does not parse.
    Value { column: usize, value: String },
    /// A record has another number of fields than the first.
    Fields,
    /// A field is not UTF-8.
    Utf8,
}

/// The fault an arrow CSV error message describes, if it is one of those.
pub(crate) fn fault(message: &str) -> Option<Fault> {
    if let Some(rest) = message.split("Error while parsing value '").nth(1) {
        let (value, rest) = rest.split_once("' as type '")?;
        let column = rest.split("for column ").nth(1)?.split(' ').next()?.parse().ok()?;
        return Some(Fault::Value {
            column,
            value: value.to_string(),
        });
    }
    if message.contains("incorrect number of fields") || message.contains("unequal lengths between records") {
        return Some(Fault::Fields);
    }
    if message.contains("UTF-8") || message.contains("utf-8") {
        return Some(Fault::Utf8);
    }
    None
}

/// The line (1-based, in the file) where the first record with `fault` starts, reading the file
/// from its start.
pub(crate) fn locate(file: impl std::io::Read, csv: &CsvSpec, fault: &Fault) -> Option<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(csv.delimiter)
        .quote(csv.quote)
        .escape(csv.escape)
        .comment(csv.comment)
        .from_reader(file);
    let mut record = csv::ByteRecord::new();
    let mut first_len = None;
    let mut first = true;
    while reader.read_byte_record(&mut record).ok()? {
        let line = record.position().map(csv::Position::line)?;
        let header = first && csv.header;
        first = false;
        let found = match fault {
            Fault::Value { column, value } => !header && record.get(*column) == Some(value.as_bytes()),
            Fault::Fields => *first_len.get_or_insert(record.len()) != record.len(),
            Fault::Utf8 => record.iter().any(|f| std::str::from_utf8(f).is_err()),
        };
        if found {
            return Some(line);
        }
    }
    None
}

/// `message` with the number after its first "line " replaced by `line`, or with `line` added.
pub(crate) fn with_line(message: &str, line: u64) -> String {
    if let Some(at) = message.find("line ") {
        let start = at + "line ".len();
        let digits = message[start..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            return format!("{}{line}{}", &message[..start], &message[start + digits..]);
        }
    }
    format!("line {line}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_read_from_arrow_messages() {
        assert_eq!(
            fault("Error while parsing value 'oops' as type 'Int64' for column 1 at line 30001"),
            Some(Fault::Value {
                column: 1,
                value: "oops".into()
            })
        );
        assert_eq!(
            fault("incorrect number of fields for line 7, expected 2 got 3"),
            Some(Fault::Fields)
        );
        assert_eq!(
            fault("Encountered invalid UTF-8 data for line 3 and field 1"),
            Some(Fault::Utf8)
        );
        assert_eq!(fault("something else"), None);
    }

    #[test]
    fn the_line_is_replaced_or_added() {
        assert_eq!(with_line("bad at line 12. More", 40), "bad at line 40. More");
        assert_eq!(with_line("bad value", 3), "line 3: bad value");
    }
}
