//! Data elements ("elemen data") that agreements grant, and the wire keys ("fields") of the
//! gateway's record that carry them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! fields {
    ($( $variant:ident => $wire:literal, free_text: $free:literal; )*) => {
        /// One key of the gateway's resident record, e.g. `NAMA_LGKP`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Field { $( $variant, )* }

        impl Field {
            /// Every field, in the order the gateway prints them.
            pub const ALL: &'static [Field] = &[ $( Field::$variant, )* ];

            /// The key as it appears on the wire.
            pub const fn wire_name(self) -> &'static str {
                match self { $( Field::$variant => $wire, )* }
            }

            /// Whether verification scores this field by similarity (0-100) instead of equality.
            pub const fn is_free_text(self) -> bool {
                match self { $( Field::$variant => $free, )* }
            }

            /// Looks a wire key up exactly (keys are upper case on the wire).
            pub fn from_wire(key: &str) -> Option<Field> {
                match key { $( $wire => Some(Field::$variant), )* _ => None }
            }
        }
    };
}

fields! {
    NoKk => "NO_KK", free_text: false;
    Nik => "NIK", free_text: false;
    NamaLgkp => "NAMA_LGKP", free_text: true;
    JenisKlmin => "JENIS_KLMIN", free_text: false;
    TmptLhr => "TMPT_LHR", free_text: true;
    TglLhr => "TGL_LHR", free_text: false;
    StatusKawin => "STATUS_KAWIN", free_text: false;
    JenisPkrjn => "JENIS_PKRJN", free_text: false;
    GolDarah => "GOL_DARAH", free_text: false;
    Agama => "AGAMA", free_text: false;
    PddkAkh => "PDDK_AKH", free_text: false;
    StatHbkel => "STAT_HBKEL", free_text: false;
    NamaLgkpIbu => "NAMA_LGKP_IBU", free_text: true;
    NamaLgkpAyah => "NAMA_LGKP_AYAH", free_text: true;
    Alamat => "ALAMAT", free_text: true;
    Dusun => "DUSUN", free_text: true;
    NoRt => "NO_RT", free_text: false;
    NoRw => "NO_RW", free_text: false;
    KodePos => "KODE_POS", free_text: false;
    NoProp => "NO_PROP", free_text: false;
    PropName => "PROP_NAME", free_text: true;
    NoKab => "NO_KAB", free_text: false;
    KabName => "KAB_NAME", free_text: true;
    NoKec => "NO_KEC", free_text: false;
    KecName => "KEC_NAME", free_text: true;
    NoKel => "NO_KEL", free_text: false;
    KelName => "KEL_NAME", free_text: true;
    EktpStatus => "EKTP_STATUS", free_text: false;
    NoAktaLhr => "NO_AKTA_LHR", free_text: false;
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

impl FromStr for Field {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::from_wire(s).ok_or_else(|| UnknownName {
            kind: "field",
            name: s.to_string(),
        })
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.wire_name())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A name that is not in a closed list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}`")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
}

/// A set of fields, as a bit set (the hot path projects every answer through one).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldSet(u32);

const _: () = assert!(Field::ALL.len() <= 32);

impl FieldSet {
    pub const EMPTY: FieldSet = FieldSet(0);

    pub fn all() -> FieldSet {
        Field::ALL.iter().copied().collect()
    }

    pub fn contains(self, f: Field) -> bool {
        self.0 & (1 << f as u8) != 0
    }

    pub fn insert(&mut self, f: Field) {
        self.0 |= 1 << f as u8;
    }

    pub fn remove(&mut self, f: Field) {
        self.0 &= !(1 << f as u8);
    }

    pub fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    pub fn difference(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & !other.0)
    }

    pub fn is_subset(self, other: FieldSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Fields in wire order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL
            .iter()
            .copied()
            .filter(move |&f| self.contains(f))
    }

    pub fn wire_names(self) -> Vec<&'static str> {
        self.iter().map(Field::wire_name).collect()
    }
}

impl FromIterator<Field> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> Self {
        let mut s = FieldSet::EMPTY;
        for f in iter {
            s.insert(f);
        }
        s
    }
}

impl fmt::Debug for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Field::wire_name))
            .finish()
    }
}

impl Serialize for FieldSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A data element as the agreements name them ("Nomor KK", "alamat", ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    NoKk,
    Nik,
    NamaLengkap,
    JenisKelamin,
    TempatLahir,
    TanggalLahir,
    StatusPerkawinan,
    Pekerjaan,
    GolonganDarah,
    Agama,
    PendidikanAkhir,
    HubunganKeluarga,
    NamaIbu,
    NamaAyah,
    /// Address: street/dusun, RT, RW and the four region levels with codes and names.
    Alamat,
    KodePos,
    EktpStatus,
    NoAktaLahir,
}

impl Element {
    pub const ALL: &'static [Element] = &[
        Element::NoKk,
        Element::Nik,
        Element::NamaLengkap,
        Element::JenisKelamin,
        Element::TempatLahir,
        Element::TanggalLahir,
        Element::StatusPerkawinan,
        Element::Pekerjaan,
        Element::GolonganDarah,
        Element::Agama,
        Element::PendidikanAkhir,
        Element::HubunganKeluarga,
        Element::NamaIbu,
        Element::NamaAyah,
        Element::Alamat,
        Element::KodePos,
        Element::EktpStatus,
        Element::NoAktaLahir,
    ];

    /// The wire keys that carry this element (the contract's element → keys table).
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Element::NoKk => &[NoKk],
            Element::Nik => &[Nik],
            Element::NamaLengkap => &[NamaLgkp],
            Element::JenisKelamin => &[JenisKlmin],
            Element::TempatLahir => &[TmptLhr],
            Element::TanggalLahir => &[TglLhr],
            Element::StatusPerkawinan => &[StatusKawin],
            Element::Pekerjaan => &[JenisPkrjn],
            Element::GolonganDarah => &[GolDarah],
            Element::Agama => &[Agama],
            Element::PendidikanAkhir => &[PddkAkh],
            Element::HubunganKeluarga => &[StatHbkel],
            Element::NamaIbu => &[NamaLgkpIbu],
            Element::NamaAyah => &[NamaLgkpAyah],
            Element::Alamat => &[
                Alamat, Dusun, NoRt, NoRw, NoProp, PropName, NoKab, KabName, NoKec, KecName, NoKel,
                KelName,
            ],
            Element::KodePos => &[KodePos],
            Element::EktpStatus => &[EktpStatus],
            Element::NoAktaLahir => &[NoAktaLhr],
        }
    }

    pub fn field_set(self) -> FieldSet {
        self.fields().iter().copied().collect()
    }

    /// The element a field belongs to.
    pub fn of_field(field: Field) -> Element {
        *Element::ALL
            .iter()
            .find(|e| e.fields().contains(&field))
            .expect("every field belongs to an element")
    }

    /// Indonesian label, as printed in agreements and the PoC letter.
    pub fn label_id(self) -> &'static str {
        match self {
            Element::NoKk => "Nomor KK",
            Element::Nik => "NIK",
            Element::NamaLengkap => "Nama lengkap",
            Element::JenisKelamin => "Jenis kelamin",
            Element::TempatLahir => "Tempat lahir",
            Element::TanggalLahir => "Tanggal lahir",
            Element::StatusPerkawinan => "Status perkawinan",
            Element::Pekerjaan => "Pekerjaan",
            Element::GolonganDarah => "Golongan darah",
            Element::Agama => "Agama",
            Element::PendidikanAkhir => "Pendidikan terakhir",
            Element::HubunganKeluarga => "Status hubungan dalam keluarga",
            Element::NamaIbu => "Nama lengkap ibu",
            Element::NamaAyah => "Nama lengkap ayah",
            Element::Alamat => "Alamat",
            Element::KodePos => "Kode pos",
            Element::EktpStatus => "Status KTP-el",
            Element::NoAktaLahir => "Nomor akta lahir",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_exactly_one_element() {
        for &f in Field::ALL {
            let owners = Element::ALL
                .iter()
                .filter(|e| e.fields().contains(&f))
                .count();
            assert_eq!(owners, 1, "{f}");
            assert_eq!(Field::from_wire(f.wire_name()), Some(f));
        }
    }

    #[test]
    fn field_set_algebra() {
        let a = Element::Alamat.field_set();
        assert_eq!(a.len(), 12);
        assert!(a.contains(Field::NoRt));
        assert!(!a.contains(Field::Nik));
        let mut b = a;
        b.remove(Field::NoKel);
        assert!(b.is_subset(a) && !a.is_subset(b));
        assert_eq!(a.difference(b).wire_names(), vec!["NO_KEL"]);
    }
}
