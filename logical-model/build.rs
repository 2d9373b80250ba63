//! Generates the typed row structs of `nb` and `sb` from the schema files in
//! `testdata/schema/`, so that no column can go missing: a schema change is a
//! compile-time change of the model.

use ovsdb::{AtomicType, BaseType, ColumnType, Schema};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
    "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do",
    "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

fn camel(s: &str) -> String {
    s.split(['_', '-', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            let first = cs.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(cs.map(|c| c.to_ascii_lowercase())).collect::<String>()
        })
        .collect()
}

fn snake(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn field(s: &str) -> String {
    if KEYWORDS.contains(&s) {
        format!("r#{s}")
    } else {
        s.to_string()
    }
}

fn variant(v: &str) -> String {
    let c = camel(v);
    if c.starts_with(|ch: char| ch.is_ascii_digit()) {
        format!("V{c}")
    } else {
        c
    }
}

struct Gen<'a> {
    schema: &'a Schema,
    out: String,
    enums: BTreeSet<String>,
}

impl Gen<'_> {
    /// The Rust type of one atom of `b` in column `col` of `table`.
    fn atom_type(&mut self, table: &str, col: &str, b: &BaseType) -> String {
        match (b.atomic, &b.enum_values, &b.ref_table) {
            (AtomicType::String, Some(values), _) => {
                let name = format!("{}{}", camel(table), camel(col));
                if self.enums.insert(name.clone()) {
                    self.gen_enum(&name, table, col, values);
                }
                name
            }
            (AtomicType::Uuid, _, Some(t)) => {
                assert!(self.schema.tables.contains_key(t), "{table}.{col} refers to unknown table {t}");
                format!("Id<{}>", camel(t))
            }
            (AtomicType::Integer, ..) => "i64".into(),
            (AtomicType::Real, ..) => "Real".into(),
            (AtomicType::Boolean, ..) => "bool".into(),
            (AtomicType::String, ..) => "String".into(),
            (AtomicType::Uuid, ..) => "Uuid".into(),
        }
    }

    fn gen_enum(&mut self, name: &str, table: &str, col: &str, values: &BTreeSet<ovsdb::Atom>) {
        let strs: Vec<String> = values
            .iter()
            .map(|a| match a {
                ovsdb::Atom::String(s) => s.clone(),
                other => panic!("{table}.{col}: non-string enum value {other:?}"),
            })
            .collect(); // already in OVSDB (byte) order
        let mut s = String::new();
        writeln!(s, "/// The values allowed in column `{col}` of table `{table}`.").unwrap();
        writeln!(s, "/// (`Default` is the first value, only so that rows can be built field by field.)").unwrap();
        writeln!(
            s,
            "#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]"
        )
        .unwrap();
        writeln!(s, "pub enum {name} {{").unwrap();
        for (i, v) in strs.iter().enumerate() {
            let default = if i == 0 { "#[default]\n    " } else { "" };
            writeln!(s, "    /// `{v}`\n    {default}#[serde(rename = \"{v}\")]\n    {},", variant(v)).unwrap();
        }
        writeln!(s, "}}\n").unwrap();
        writeln!(s, "impl {name} {{").unwrap();
        writeln!(s, "    /// Every value, in OVSDB order.").unwrap();
        let all: Vec<String> = strs.iter().map(|v| format!("{name}::{}", variant(v))).collect();
        writeln!(s, "    pub const ALL: &'static [{name}] = &[{}];", all.join(", ")).unwrap();
        writeln!(s, "    /// The schema spelling.").unwrap();
        writeln!(s, "    pub fn as_str(self) -> &'static str {{\n        match self {{").unwrap();
        for v in &strs {
            writeln!(s, "            {name}::{} => \"{v}\",", variant(v)).unwrap();
        }
        writeln!(s, "        }}\n    }}\n}}\n").unwrap();
        writeln!(s, "impl std::str::FromStr for {name} {{\n    type Err = String;").unwrap();
        writeln!(s, "    fn from_str(s: &str) -> Result<Self, String> {{\n        match s {{").unwrap();
        for v in &strs {
            writeln!(s, "            \"{v}\" => Ok({name}::{}),", variant(v)).unwrap();
        }
        writeln!(s, "            _ => Err(format!(\"\\\"{{s}}\\\" is not a valid {table}.{col} value\")),\n        }}\n    }}\n}}\n").unwrap();
        writeln!(s, "impl std::fmt::Display for {name} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n").unwrap();
        writeln!(s, "impl FromAtom for {name} {{").unwrap();
        writeln!(s, "    fn from_atom(a: &Atom) -> Result<Self, ErrorKind> {{").unwrap();
        writeln!(s, "        let s = <String as FromAtom>::from_atom(a)?;\n        s.parse().map_err(ErrorKind::Constraint)\n    }}").unwrap();
        writeln!(s, "    fn to_atom(&self) -> Atom {{\n        Atom::String(self.as_str().to_string())\n    }}\n}}\n")
            .unwrap();
        self.out.push_str(&s);
    }

    /// (Rust type, conversion shape) of a column.
    fn column_type(&mut self, table: &str, col: &str, t: &ColumnType) -> (String, &'static str) {
        let k = self.atom_type(table, col, &t.key);
        if let Some(v) = &t.value {
            let v = self.atom_type(table, col, v);
            (format!("BTreeMap<{k}, {v}>"), "map")
        } else if t.is_scalar() {
            (k, "scalar")
        } else if t.is_optional() {
            (format!("Option<{k}>"), "optional")
        } else {
            (format!("BTreeSet<{k}>"), "set")
        }
    }

    fn describe(t: &ColumnType) -> String {
        let base = |b: &BaseType| {
            let mut s = b.atomic.name().to_string();
            if let Some(r) = &b.ref_table {
                s = format!("{s} → {r}{}", if b.ref_type == ovsdb::RefType::Weak { " (weak)" } else { "" });
            }
            s
        };
        let max = t.max.map_or("unlimited".to_string(), |m| m.to_string());
        match &t.value {
            Some(v) => format!("map {} → {}, {}..{}", base(&t.key), base(v), t.min, max),
            None => format!("{}, {}..{}", base(&t.key), t.min, max),
        }
    }

    fn run(&mut self, db_label: &str) {
        let tables: Vec<_> = self.schema.tables.values().cloned().collect();
        for ts in &tables {
            let sname = camel(&ts.name);
            let mut fields = String::new();
            let mut from = String::new();
            let mut to = String::new();
            for (cname, cs) in &ts.columns {
                let (ty, shape) = self.column_type(&ts.name, cname, &cs.ty);
                let f = field(cname);
                writeln!(fields, "    /// `{cname}`: {}", Self::describe(&cs.ty)).unwrap();
                writeln!(fields, "    pub {f}: {ty},").unwrap();
                writeln!(from, "            {f}: conv::{shape}(row, \"{cname}\")?,").unwrap();
                writeln!(to, "        row.insert(\"{cname}\".to_string(), conv::{shape}_to(&self.{f}));").unwrap();
            }
            let cols: Vec<String> = ts.columns.keys().map(|c| format!("\"{c}\"")).collect();
            write!(
                self.out,
                "/// A row of the {db_label} table `{tn}`.\n\
                 #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]\n\
                 pub struct {sname} {{\n{fields}}}\n\n\
                 impl Table for {sname} {{\n\
                 \x20   const NAME: &'static str = \"{tn}\";\n\
                 \x20   const COLUMNS: &'static [&'static str] = &[{cols}];\n\
                 \x20   fn from_row(row: &Row) -> Result<Self, Error> {{\n\
                 \x20       Ok({sname} {{\n{from}        }})\n    }}\n\
                 \x20   fn to_row(&self) -> Row {{\n        let mut row = Row::new();\n{to}        row\n    }}\n}}\n\n",
                tn = ts.name,
                cols = cols.join(", ")
            )
            .unwrap();
        }
        // The snapshot: every table as a map from typed id to row.
        let mut fields = String::new();
        let mut from = String::new();
        let mut to = String::new();
        let mut sizes = Vec::new();
        let mut table_list: Vec<String> = Vec::new();
        for ts in &tables {
            let f = snake(&ts.name);
            let sname = camel(&ts.name);
            writeln!(fields, "    /// Table `{}`.\n    pub {f}: BTreeMap<Id<{sname}>, {sname}>,", ts.name).unwrap();
            writeln!(from, "        snap.{f} = read_table(db, &mut errors);").unwrap();
            writeln!(to, "        write_table(&mut db, &self.{f});").unwrap();
            sizes.push(format!("({sname}::NAME, self.{f}.len())"));
            table_list.push(format!("({sname}::NAME, {sname}::COLUMNS)"));
        }
        write!(
            self.out,
            "/// Every table of the {db_label} database, typed.\n\
             #[derive(Clone, Debug, Default, PartialEq, Eq)]\n\
             pub struct Snapshot {{\n{fields}}}\n\n\
             impl Snapshot {{\n\
             \x20   /// Converts an untyped database. Rows that do not convert are skipped\n\
             \x20   /// and reported; everything else is kept.\n\
             \x20   pub fn from_database(db: &Database) -> (Snapshot, Vec<Error>) {{\n\
             \x20       let mut snap = Snapshot::default();\n        let mut errors = Vec::new();\n\
             \x20       check_tables(db, schema(), &mut errors);\n{from}        (snap, errors)\n    }}\n\n\
             \x20   /// Converts back to an untyped database of this crate's schema.\n\
             \x20   pub fn to_database(&self) -> Database {{\n\
             \x20       let mut db = Database::new(schema().clone());\n{to}        db\n    }}\n\n\
             \x20   /// (table name, row count) for every table, in schema order.\n\
             \x20   pub fn table_sizes(&self) -> Vec<(&'static str, usize)> {{\n        vec![{sizes}]\n    }}\n}}\n",
            sizes = sizes.join(", ")
        )
        .unwrap();
        write!(
            self.out,
            "\n/// (name, columns) of every table, in schema order.\n\
             pub const TABLES: &[(&str, &[&str])] = &[{}];\n",
            table_list.join(", ")
        )
        .unwrap();
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../testdata/schema");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for (file, module, label) in
        [("ovn-nb.ovsschema", "nb.rs", "Northbound"), ("ovn-sb.ovsschema", "sb.rs", "Southbound")]
    {
        let path = root.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema = Schema::from_json_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut g = Gen { schema: &schema, out: String::new(), enums: BTreeSet::new() };
        g.out
            .push_str(&format!("// Generated by logical-model/build.rs from testdata/schema/{file}. Do not edit.\n\n"));
        g.run(label);
        std::fs::write(out.join(module), g.out).unwrap();
    }
    println!("cargo:rerun-if-changed=build.rs");
}
