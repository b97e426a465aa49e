//! Data elements ("elemen data") that agreements grant, and the wire keys ("fields") of the
//! gateway's record that carry them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident => $wire:literal, free_text: $free:literal; )*) => {
        /// One key of the gateway's resident record, e.g. `NAMA_LGKP`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Field { $( $(#[$doc])* $variant, )* }

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
    /// NO_KK: family card (Kartu Keluarga) number.
    NoKk => "NO_KK", free_text: false;
    /// NIK: national identity number.
    Nik => "NIK", free_text: false;
    /// NAMA_LGKP: full name.
    NamaLgkp => "NAMA_LGKP", free_text: true;
    /// JENIS_KLMIN: sex.
    JenisKlmin => "JENIS_KLMIN", free_text: false;
    /// TMPT_LHR: place of birth.
    TmptLhr => "TMPT_LHR", free_text: true;
    /// TGL_LHR: date of birth.
    TglLhr => "TGL_LHR", free_text: false;
    /// STATUS_KAWIN: marital status.
    StatusKawin => "STATUS_KAWIN", free_text: false;
    /// JENIS_PKRJN: occupation.
    JenisPkrjn => "JENIS_PKRJN", free_text: false;
    /// GOL_DARAH: blood type.
    GolDarah => "GOL_DARAH", free_text: false;
    /// AGAMA: religion.
    Agama => "AGAMA", free_text: false;
    /// PDDK_AKH: highest education completed.
    PddkAkh => "PDDK_AKH", free_text: false;
    /// STAT_HBKEL: relationship to the head of the family.
    StatHbkel => "STAT_HBKEL", free_text: false;
    /// NAMA_LGKP_IBU: mother's full name.
    NamaLgkpIbu => "NAMA_LGKP_IBU", free_text: true;
    /// NAMA_LGKP_AYAH: father's full name.
    NamaLgkpAyah => "NAMA_LGKP_AYAH", free_text: true;
    /// ALAMAT: street address.
    Alamat => "ALAMAT", free_text: true;
    /// DUSUN: hamlet.
    Dusun => "DUSUN", free_text: true;
    /// NO_RT: neighbourhood unit (RT) number.
    NoRt => "NO_RT", free_text: false;
    /// NO_RW: community unit (RW) number.
    NoRw => "NO_RW", free_text: false;
    /// KODE_POS: postal code.
    KodePos => "KODE_POS", free_text: false;
    /// NO_PROP: province code.
    NoProp => "NO_PROP", free_text: false;
    /// PROP_NAME: province name.
    PropName => "PROP_NAME", free_text: true;
    /// NO_KAB: regency/city code.
    NoKab => "NO_KAB", free_text: false;
    /// KAB_NAME: regency/city name.
    KabName => "KAB_NAME", free_text: true;
    /// NO_KEC: district (kecamatan) code.
    NoKec => "NO_KEC", free_text: false;
    /// KEC_NAME: district (kecamatan) name.
    KecName => "KEC_NAME", free_text: true;
    /// NO_KEL: village (kelurahan/desa) code.
    NoKel => "NO_KEL", free_text: false;
    /// KEL_NAME: village (kelurahan/desa) name.
    KelName => "KEL_NAME", free_text: true;
    /// EKTP_STATUS: electronic ID card (KTP-el) status.
    EktpStatus => "EKTP_STATUS", free_text: false;
    /// NO_AKTA_LHR: birth certificate number.
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
    /// What kind of name it is (e.g. "field"), for the message.
    pub kind: &'static str,
    /// The name as given.
    pub name: String,
}

/// A set of fields, as a bit set (the hot path projects every answer through one).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldSet(u32);

const _: () = assert!(Field::ALL.len() <= 32);

impl FieldSet {
    /// The set with no fields.
    pub const EMPTY: FieldSet = FieldSet(0);

    /// The set of every field.
    pub fn all() -> FieldSet {
        Field::ALL.iter().copied().collect()
    }

    /// Whether `f` is in the set.
    pub fn contains(self, f: Field) -> bool {
        self.0 & (1 << f as u8) != 0
    }

    /// Adds `f` to the set.
    pub fn insert(&mut self, f: Field) {
        self.0 |= 1 << f as u8;
    }

    /// Removes `f` from the set.
    pub fn remove(&mut self, f: Field) {
        self.0 &= !(1 << f as u8);
    }

    /// Fields in either set.
    pub fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    /// Fields in `self` but not in `other`.
    pub fn difference(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & !other.0)
    }

    /// Whether every field of `self` is in `other`.
    pub fn is_subset(self, other: FieldSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set has no fields.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of fields in the set.
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

    /// The wire keys of the set's fields, in wire order.
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
    /// Nomor KK: family card number.
    NoKk,
    /// NIK: national identity number.
    Nik,
    /// Nama lengkap: full name.
    NamaLengkap,
    /// Jenis kelamin: sex.
    JenisKelamin,
    /// Tempat lahir: place of birth.
    TempatLahir,
    /// Tanggal lahir: date of birth.
    TanggalLahir,
    /// Status perkawinan: marital status.
    StatusPerkawinan,
    /// Pekerjaan: occupation.
    Pekerjaan,
    /// Golongan darah: blood type.
    GolonganDarah,
    /// Agama: religion.
    Agama,
    /// Pendidikan terakhir: highest education completed.
    PendidikanAkhir,
    /// Status hubungan dalam keluarga: relationship to the head of the family.
    HubunganKeluarga,
    /// Nama lengkap ibu: mother's full name.
    NamaIbu,
    /// Nama lengkap ayah: father's full name.
    NamaAyah,
    /// Address: street/dusun, RT, RW and the four region levels with codes and names.
    Alamat,
    /// Kode pos: postal code.
    KodePos,
    /// Status KTP-el: electronic ID card status.
    EktpStatus,
    /// Nomor akta lahir: birth certificate number.
    NoAktaLahir,
}

impl Element {
    /// Every element, in the order of the contract's element table.
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

    /// The element's wire keys as a set.
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
