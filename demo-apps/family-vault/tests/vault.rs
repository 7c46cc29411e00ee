//! Four phones in one process (real nodes on loopback TCP, Noise, redb): range reads on BEAT4,
//! writes that wait offline for the quorum, an upload that resumes after its phone stopped
//! mid-way, quotas and versions agreed by every phone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use beat_core::beat::Variant;
use beat_vault::dir::{Op, Outcome};
use beat_vault::home::{self, InitSpec};
use beat_vault::vault::{Pending, Vault, CHUNK_SIZE};
use rand::{RngCore, SeedableRng};

const N: usize = 4;

fn free_base() -> u16 {
    let mut rng = rand::rngs::StdRng::from_entropy();
    for _ in 0..100 {
        // Below Linux's range for outgoing connections (32768 and up).
        let base = 20_000 + (rng.next_u32() % 12_000) as u16;
        if (base..base + 3 * N as u16).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free ports");
}

fn family(dir: &Path, variant: Variant) -> Vec<PathBuf> {
    let spec = InitSpec {
        family: "Test".into(),
        members: ["Mom", "Dad", "Kid", "Grandma"].map(String::from).to_vec(),
        hosts: vec!["127.0.0.1".into()],
        base_port: free_base(),
        variant,
        capacity: 1 << 30,
        heartbeat_ms: 500,
        retention_ms: 60_000,
        scrub_interval_ms: 5_000,
    };
    let bundles = home::init(&dir.join("family"), &spec).unwrap();
    bundles
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let h = dir.join(format!("phone{i}"));
            home::join(b, &h).unwrap();
            h
        })
        .collect()
}

fn start(h: &Path) -> Vault {
    Vault::start(home::load(h).unwrap()).unwrap()
}

fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < end, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut b = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut b);
    b
}

fn p(phones: &[Option<Vault>], i: usize) -> &Vault {
    phones[i].as_ref().expect("phone running")
}

fn done(o: Option<Outcome>) -> (String, u64, bool) {
    match o {
        Some(Outcome::Done { path, version: Some(v), conflict }) => (path, v, conflict),
        o => panic!("not done: {o:?}"),
    }
}

#[test]
fn four_phones_on_beat4_range_reads_offline_writes_and_resumed_uploads() {
    let tmp = tempfile::tempdir().unwrap();
    let homes = family(tmp.path(), Variant::Beat4);
    let mut phones: Vec<Option<Vault>> = homes.iter().map(|h| Some(start(h))).collect();
    let t0 = Instant::now();
    let step = |what: &str| println!("vault: [{:5.1} s] {what}", t0.elapsed().as_secs_f64());

    // 1. A file of three chunks; every phone reads it whole and by ranges (BEAT4 reads only the
    //    chunks a range needs), and a flipped bit anywhere would fail the hash check.
    let data = random(2 * CHUNK_SIZE as usize + 12_345, 1);
    let id = p(&phones, 0).put("/photos/big.jpg", None, &data).unwrap();
    let (_, v1, _) = done(p(&phones, 0).wait(&id, Duration::from_secs(60)));
    for i in 0..N {
        wait("the directory on every phone", Duration::from_secs(20), || {
            p(&phones, i).version("/photos/big.jpg", None).is_ok()
        });
        let v = p(&phones, i).version("/photos/big.jpg", None).unwrap();
        assert_eq!(v.version, v1);
        assert_eq!(p(&phones, i).read(&v, None).unwrap(), data, "phone {i} reads it whole");
        let c = u64::from(CHUNK_SIZE);
        for r in [0..10, c - 5..c + 5, 2 * c..data.len() as u64, 7..7] {
            let got = p(&phones, i).read(&v, Some(r.clone())).unwrap();
            assert_eq!(got, data[r.start as usize..r.end as usize], "phone {i} range {r:?}");
        }
        assert!(p(&phones, i).read(&v, Some(0..data.len() as u64 + 1)).is_err(), "a range past the end is refused");
    }

    step("ranges read on every phone");
    // 2. Versions and quotas are agreed by every phone.
    let id = p(&phones, 1).put("/photos/big.jpg", Some(v1), b"smaller now").unwrap();
    let (_, v2, conflict) = done(p(&phones, 1).wait(&id, Duration::from_secs(60)));
    assert!(!conflict && v2 > v1);
    let id = p(&phones, 2).submit(Op::SetQuota { member: 2, bytes: 100 }).unwrap();
    assert!(matches!(p(&phones, 2).wait(&id, Duration::from_secs(30)), Some(Outcome::Done { .. })));
    wait("the quota on phone 2", Duration::from_secs(10), || {
        p(&phones, 2).with_dir(|d| d.quotas.get(&2) == Some(&100)).unwrap()
    });
    let e = p(&phones, 2).put("/kid/game.sav", None, &[0u8; 200]).unwrap_err();
    assert!(e.to_string().contains("quota"), "{e}");
    let old = p(&phones, 3).version("/photos/big.jpg", Some(v1)).unwrap();
    assert_eq!(p(&phones, 3).read(&old, None).unwrap(), data, "the old version stays readable");

    step("versions and quota agreed");
    // 3. Offline-first: with two phones of four off (fewer than n - f = 3 up), a write waits in
    //    the outbox and the phone says so; it commits once a third phone is back.
    for i in [2, 3] {
        phones[i].take().unwrap().shutdown();
    }
    // (Once phone 0 has seen the links go down: a write already in flight when the quorum goes
    // waits out its store timeout first.)
    wait("phone 0 to see two phones gone", Duration::from_secs(30), || {
        p(&phones, 0).storage_status().peers_connected <= 1 && p(&phones, 0).directory_status().peers_connected <= 1
    });
    let offline = random(100_000, 2);
    let id = p(&phones, 0).put("/notes/offline.txt", None, &offline).unwrap();
    wait("the outbox to report waiting for phones", Duration::from_secs(120), || p(&phones, 0).waiting_for_quorum());
    assert_eq!(p(&phones, 0).pending().len(), 1);
    assert!(p(&phones, 0).outcome(&id).is_none(), "nothing commits without a quorum");
    phones[2] = Some(start(&homes[2]));
    let (path, _, _) = done(p(&phones, 0).wait(&id, Duration::from_secs(180)));
    assert_eq!(path, "/notes/offline.txt");
    wait("the outbox to drain", Duration::from_secs(30), || p(&phones, 0).pending().is_empty());
    let v = p(&phones, 1).version("/notes/offline.txt", None).unwrap();
    assert_eq!(p(&phones, 1).read(&v, None).unwrap(), offline);

    step("offline write committed when a third phone returned");
    // 4. A phone that stops mid-upload resumes where it was after it restarts: the chunks it
    //    stored are not stored again, and nobody ever sees a half file.
    phones[3] = Some(start(&homes[3]));
    let big = random(5 * CHUNK_SIZE as usize, 3);
    let id = p(&phones, 1).put("/videos/holiday.mp4", None, &big).unwrap();
    wait("the first chunk stored", Duration::from_secs(60), || {
        p(&phones, 1).pending().first().is_some_and(|e| e.progress().0 >= 1)
    });
    phones[1].take().unwrap().shutdown();
    let stored_before = {
        let h = home::load(&homes[1]).unwrap();
        let d = std::fs::read_dir(h.path.join("data/outbox")).unwrap().next().unwrap().unwrap().path();
        let meta: Pending = serde_json::from_slice(&std::fs::read(d.join("meta.json")).unwrap()).unwrap();
        let Op::Put { content, .. } = meta.signed.op else { panic!("not an upload") };
        content.chunks
    };
    assert!((1..5).contains(&stored_before.len()), "stopped mid-way ({} of 5 chunks)", stored_before.len());
    assert!(p(&phones, 0).version("/videos/holiday.mp4", None).is_err(), "no half file in the directory");
    phones[1] = Some(start(&homes[1]));
    done(p(&phones, 1).wait(&id, Duration::from_secs(180)));
    let v = p(&phones, 0).version("/videos/holiday.mp4", None).unwrap();
    assert_eq!(v.content.chunks.len(), 5);
    assert_eq!(p(&phones, 0).read(&v, None).unwrap(), big);
    // The chunks stored before the stop are the ones the directory names (none stored twice).
    assert_eq!(
        v.content.chunks[..stored_before.len()],
        stored_before[..],
        "the resumed upload kept what it had stored"
    );

    step("resumed upload complete");
    // 5. Every phone's directory is the same.
    // Whole directories (health reports, quotas, counters) taken at the same epoch are equal.
    wait("every phone's directory at one epoch", Duration::from_secs(30), || {
        let dirs: Vec<_> = phones.iter().map(|v| v.as_ref().unwrap().with_dir(Clone::clone).unwrap()).collect();
        let same_epoch = dirs.windows(2).all(|w| w[0].applied_epochs == w[1].applied_epochs);
        if same_epoch {
            assert!(dirs.windows(2).all(|w| w[0] == w[1]), "directories differ at epoch {}", dirs[0].applied_epochs);
        }
        same_epoch
    });
    step("every directory alike");
    for v in phones.into_iter().flatten() {
        v.shutdown();
    }
}

#[test]
fn a_phone_whose_family_settings_were_edited_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let homes = family(tmp.path(), Variant::Beat3);
    assert!(home::load(&homes[0]).is_ok());
    let f = homes[0].join("vault.toml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace("\"Grandma\"", "\"Granny\"")).unwrap();
    let e = home::load(&homes[0]).unwrap_err();
    assert!(e.contains("every phone must start from the same directory"), "{e}");
    // A bundle is refused before anything is copied.
    let e = home::join(&homes[0], &tmp.path().join("new-phone")).unwrap_err();
    assert!(e.contains("same directory"), "{e}");
    assert!(!tmp.path().join("new-phone").exists());
}
