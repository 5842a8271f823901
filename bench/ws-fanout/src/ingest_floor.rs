//! The floor of the ingest benchmark (bench/ingest.sh): the rows a `cirhub ioc import` left
//! in one SQLite database (objects, their version bodies, the version sequence, the value
//! index, the shares) inserted again, unchanged, into a fresh database of the same schema,
//! with the product's connection settings, by one cached prepared statement per table in one
//! transaction. What the import does beyond this (reading and parsing the file, checking
//! each object, canonical JSON and SHA-256, deduplication, batching, audit) is its cost.
//!
//!     ingest-floor SOURCE.db EMPTY_DATA_DIR     prints one JSON line

use cirhub::config::Config;
use cirhub::db::rows::StixObjectRow;
use cirhub::db::schema::*;
use cirhub::db::Db;
use diesel::prelude::*;
use std::time::Instant;

type Version = (String, String, i32, String, String, i64);
type Seq = (i64, String, i32, Option<String>, bool, i64);
type Indexed = (String, String, String, Option<String>);
type Share = (String, String, i64, Option<String>, Option<String>);
type Org = (String, String, String, bool, bool, i64);

fn db(url: &str) -> anyhow::Result<Db> {
    let config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.to_string()),
        "CIRHUB_JWT_SECRET" => Some("ingest-floor-ingest-floor-ingest-floor".into()),
        _ => None,
    })?;
    let db = Db::connect(&config)?;
    db.migrate()?;
    Ok(db)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() == 3, "usage: ingest-floor SOURCE.db DEST.db");
    let src = db(&args[1])?;
    let dst = db(&args[2])?;
    let mut c = src.conn()?;
    let orgs: Vec<Org> = organisations::table
        .select((
            organisations::id,
            organisations::slug,
            organisations::name,
            organisations::is_provider,
            organisations::is_customer,
            organisations::created_at,
        ))
        .load(&mut *c)?;
    let objects: Vec<StixObjectRow> = stix_objects::table
        .select(StixObjectRow::as_select())
        .load(&mut *c)?;
    let versions: Vec<Version> = record_versions::table
        .filter(record_versions::object_type.eq("stix"))
        .load(&mut *c)?;
    let seqs: Vec<Seq> = stix_versions::table.load(&mut *c)?;
    let indexed: Vec<Indexed> = stix_values::table.load(&mut *c)?;
    let shares: Vec<Share> = stix_shares::table.load(&mut *c)?;
    drop(c);
    // The organisations the rows belong to: not part of what is measured.
    dst.write_blocking(|c| {
        for o in &orgs {
            diesel::insert_into(organisations::table)
                .values((
                    organisations::id.eq(&o.0),
                    organisations::slug.eq(&o.1),
                    organisations::name.eq(&o.2),
                    organisations::is_provider.eq(o.3),
                    organisations::is_customer.eq(o.4),
                    organisations::created_at.eq(o.5),
                    organisations::updated_at.eq(o.5),
                ))
                .execute(c)?;
        }
        Ok(())
    })?;
    let start = Instant::now();
    dst.write_blocking(|c| {
        for r in &objects {
            diesel::insert_into(stix_objects::table)
                .values(r)
                .execute(c)?;
        }
        for v in &versions {
            diesel::insert_into(record_versions::table)
                .values((
                    record_versions::object_type.eq(&v.0),
                    record_versions::object_id.eq(&v.1),
                    record_versions::version.eq(v.2),
                    record_versions::body.eq(&v.3),
                    record_versions::hash.eq(&v.4),
                    record_versions::created_at.eq(v.5),
                ))
                .execute(c)?;
        }
        for s in &seqs {
            diesel::insert_into(stix_versions::table)
                .values((
                    stix_versions::seq.eq(s.0),
                    stix_versions::object_key.eq(&s.1),
                    stix_versions::version.eq(s.2),
                    stix_versions::modified.eq(&s.3),
                    stix_versions::revoked.eq(s.4),
                    stix_versions::added_at.eq(s.5),
                ))
                .execute(c)?;
        }
        for v in &indexed {
            diesel::insert_into(stix_values::table)
                .values((
                    stix_values::kind.eq(&v.0),
                    stix_values::value.eq(&v.1),
                    stix_values::object_key.eq(&v.2),
                    stix_values::ip_key.eq(&v.3),
                ))
                .execute(c)?;
        }
        for s in &shares {
            diesel::insert_into(stix_shares::table)
                .values((
                    stix_shares::object_id.eq(&s.0),
                    stix_shares::agreement_id.eq(&s.1),
                    stix_shares::shared_at.eq(s.2),
                    stix_shares::shared_by.eq(&s.3),
                    stix_shares::via.eq(&s.4),
                ))
                .execute(c)?;
        }
        Ok(())
    })?;
    let secs = start.elapsed().as_secs_f64();
    let rows = objects.len() + versions.len() + seqs.len() + indexed.len() + shares.len();
    println!(
        "{}",
        serde_json::json!({
            "objects": objects.len(), "rows": rows, "seconds": secs,
            "objects_per_s": objects.len() as f64 / secs,
        })
    );
    Ok(())
}
