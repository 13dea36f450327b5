use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn refused(policy: &UrlPolicy, text: &str) -> bool {
    matches!(
        policy.check_url(&url(text)),
        Err(PolicyError::Refused { .. } | PolicyError::Port { .. } | PolicyError::Scheme(_))
    )
}

#[test]
fn classifies_every_special_range() {
    let table = [
        ("8.8.8.8", AddressKind::Public),
        ("127.0.0.1", AddressKind::Loopback),
        ("127.255.0.9", AddressKind::Loopback),
        ("169.254.169.254", AddressKind::LinkLocal),
        ("10.1.2.3", AddressKind::Private),
        ("172.16.0.1", AddressKind::Private),
        ("172.31.255.255", AddressKind::Private),
        ("172.32.0.1", AddressKind::Public),
        ("192.168.1.1", AddressKind::Private),
        ("100.64.0.1", AddressKind::Shared),
        ("0.0.0.0", AddressKind::Unspecified),
        ("224.0.0.1", AddressKind::Multicast),
        ("255.255.255.255", AddressKind::Broadcast),
        ("::1", AddressKind::Loopback),
        ("::", AddressKind::Unspecified),
        ("fe80::1", AddressKind::LinkLocal),
        ("fc00::1", AddressKind::Private),
        ("fd12:3456::1", AddressKind::Private),
        ("ff02::1", AddressKind::Multicast),
        ("::ffff:127.0.0.1", AddressKind::Loopback),
        ("::ffff:169.254.169.254", AddressKind::LinkLocal),
        ("::ffff:10.0.0.1", AddressKind::Private),
        ("::127.0.0.1", AddressKind::Loopback),
        ("64:ff9b::10.0.0.1", AddressKind::Private),
        ("2001:4860:4860::8888", AddressKind::Public),
        ("168.63.129.16", AddressKind::Metadata),
        ("::ffff:168.63.129.16", AddressKind::Metadata),
        ("fd00:ec2::254", AddressKind::Metadata),
    ];
    for (ip, kind) in table {
        assert_eq!(classify_ip(ip.parse().unwrap()), kind, "{ip}");
    }
}

#[test]
fn an_empty_policy_refuses_every_internal_form() {
    let policy = UrlPolicy::new::<&str>(&[]).unwrap();
    for text in [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://10.0.0.1/",
        "http://192.168.0.10:8080/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
        "http://255.255.255.255/",
        "http://224.0.0.1/",
        "ftp://example.com/file.csv",
        "file:///etc/passwd",
    ] {
        assert!(refused(&policy, text), "{text} should be refused");
    }
    assert!(policy.check_url(&url("https://example.com/a.csv")).is_ok());
    assert!(policy.check_url(&url("http://8.8.8.8/")).is_ok());
}

#[test]
fn allowed_networks_open_their_range_only() {
    let policy = UrlPolicy::new(&["127.0.0.0/8", "::1"]).unwrap();
    assert!(
        policy
            .check_url(&url("http://127.0.0.1:8000/a.csv"))
            .is_ok()
    );
    assert!(policy.check_url(&url("http://[::1]:8000/")).is_ok());
    assert!(policy.check_url(&url("http://[::ffff:127.0.0.1]/")).is_ok());
    assert!(refused(&policy, "http://10.0.0.1/"));
    assert!(refused(&policy, "http://169.254.169.254/"));
}

#[test]
fn link_local_needs_an_explicit_entry() {
    let everything = UrlPolicy::new(&["0.0.0.0/0", "::/0"]).unwrap();
    assert!(everything.check_url(&url("http://10.0.0.1/")).is_ok());
    assert!(refused(&everything, "http://169.254.169.254/"));
    assert!(refused(&everything, "http://[fe80::1]/"));
    let metadata = UrlPolicy::new(&["169.254.169.254/32"]).unwrap();
    assert!(metadata.check_url(&url("http://169.254.169.254/")).is_ok());
}

#[test]
fn host_port_entries_match_host_and_port() {
    let policy = UrlPolicy::new(&["127.0.0.1:8000", "files.internal:443"]).unwrap();
    assert!(policy.check_url(&url("http://127.0.0.1:8000/")).is_ok());
    assert!(refused(&policy, "http://127.0.0.1:8001/"));
    assert!(policy.check_url(&url("https://files.internal/x")).is_ok());
    assert!(refused(&policy, "http://files.internal:22/"));
    assert!(policy.names_host("files.internal"));
    assert!(
        policy
            .check_addr("127.0.0.1".parse().unwrap(), None)
            .is_err()
    );
}

#[test]
fn bad_entries_are_named() {
    assert_eq!(
        UrlPolicy::new(&["10.0.0.0/33"]),
        Err(PolicyError::BadEntry("10.0.0.0/33".into()))
    );
    assert!(UrlPolicy::new(&["host:port"]).is_err());
    assert!(UrlPolicy::new(&["a b:80"]).is_err());
}

#[test]
fn cloud_metadata_outside_link_local_needs_its_own_entry() {
    let wide = UrlPolicy::new(&["0.0.0.0/0", "::/0", "168.0.0.0/8", "fd00::/8"]).unwrap();
    for text in [
        "http://168.63.129.16/",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ] {
        assert!(
            refused(&wide, text),
            "{text} should be refused by wide entries"
        );
    }
    assert!(!refused(&wide, "http://168.63.129.15/"));
    let named = UrlPolicy::new(&["168.63.129.16", "fd00:ec2::254"]).unwrap();
    assert!(!refused(&named, "http://168.63.129.16/"));
    assert!(!refused(&named, "http://[fd00:ec2::254]/"));
}
