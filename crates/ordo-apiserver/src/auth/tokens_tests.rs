use super::*;

fn signer() -> Signer {
    Signer::from_pem(&Signer::generate_pem().unwrap()).unwrap()
}

fn bound(now: i64, ttl: i64, aud: &str) -> Claims {
    Claims {
        iss: ISSUER.into(),
        sub: "system:serviceaccount:default:app".into(),
        aud: vec![aud.into()],
        exp: Some(now + ttl),
        iat: Some(now),
        nbf: Some(now),
        jti: Some("j1".into()),
        kubernetes: Some(KubernetesClaim {
            namespace: "default".into(),
            serviceaccount: Ref {
                name: "app".into(),
                uid: "sa-uid".into(),
            },
            pod: Some(Ref {
                name: "p".into(),
                uid: "pod-uid".into(),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn a_signed_token_verifies_and_carries_upstreams_claims() {
    let s = signer();
    let now = 1_800_000_000;
    let token = s.sign(&bound(now, 3600, ISSUER));
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header, json!({"alg": "ES256", "kid": s.kid()}));
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["kubernetes.io"]["pod"]["uid"], "pod-uid");
    assert_eq!(payload["kubernetes.io"]["serviceaccount"]["name"], "app");
    assert_eq!(payload["aud"], json!([ISSUER]));
    let c = s.verify(&token).unwrap();
    assert_eq!(c, bound(now, 3600, ISSUER));
    assert_eq!(c.validate(now + 10, &[ISSUER.to_string()]), Ok(()));
}

#[test]
fn expired_tokens_are_refused_after_the_leeway() {
    let now = 1_800_000_000;
    let c = bound(now, 600, ISSUER);
    let auds = [ISSUER.to_string()];
    assert_eq!(c.validate(now + 600 + LEEWAY_SECONDS, &auds), Ok(()));
    assert_eq!(
        c.validate(now + 601 + LEEWAY_SECONDS, &auds),
        Err(TokenError::Expired)
    );
    assert_eq!(
        TokenError::Expired.to_string(),
        "service account token has expired"
    );
    assert_eq!(
        c.validate(now - 2 * LEEWAY_SECONDS, &auds),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let now = 1_800_000_000;
    let c = bound(now, 600, "vault");
    let e = c.validate(now, &[ISSUER.to_string()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "token audiences [\"vault\"] is invalid for the target audiences [\"https://kubernetes.default.svc.cluster.local\"]"
    );
    assert_eq!(c.validate(now, &["vault".to_string()]), Ok(()));
}

#[test]
fn a_bad_signature_or_another_key_is_refused() {
    let (a, b) = (signer(), signer());
    let token = a.sign(&bound(1_800_000_000, 600, ISSUER));
    assert_eq!(b.verify(&token), Err(TokenError::BadSignature));
    // A token whose payload was changed after signing.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut c = bound(1_800_000_000, 600, ISSUER);
    c.sub = "system:serviceaccount:kube-system:admin".into();
    parts[1] =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
    assert_eq!(a.verify(&parts.join(".")), Err(TokenError::BadSignature));
    // Unsigned tokens (what ordo's node agent used to write) are not accepted.
    let unsigned = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        parts[1]
    );
    assert!(a.verify(&unsigned).is_err());
}

#[test]
fn other_bearer_tokens_are_not_ours() {
    let s = signer();
    assert_eq!(s.verify("abcdef"), Err(TokenError::NotOurs));
    let mut c = bound(1_800_000_000, 600, ISSUER);
    c.iss = "https://accounts.example.com".into();
    assert_eq!(s.verify(&s.sign(&c)), Err(TokenError::NotOurs));
}

#[test]
fn legacy_tokens_have_no_expiry_or_audience() {
    let s = signer();
    let c = Claims::legacy("default", "app", "sa-uid", "app-token");
    let token = s.sign(&c);
    let back = s.verify(&token).unwrap();
    assert!(back.is_legacy());
    assert_eq!(back.validate(i64::MAX / 2, &[]), Ok(()));
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload,
        json!({
            "iss": "kubernetes/serviceaccount",
            "sub": "system:serviceaccount:default:app",
            "kubernetes.io/serviceaccount/namespace": "default",
            "kubernetes.io/serviceaccount/secret.name": "app-token",
            "kubernetes.io/serviceaccount/service-account.name": "app",
            "kubernetes.io/serviceaccount/service-account.uid": "sa-uid",
        })
    );
}

#[test]
fn the_key_set_verifies_what_the_key_signs() {
    let s = signer();
    let jwks = s.jwks();
    let k = &jwks["keys"][0];
    assert_eq!(
        (k["kty"].as_str(), k["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(k["kid"], s.kid());
    let key = DecodingKey::from_ec_components(k["x"].as_str().unwrap(), k["y"].as_str().unwrap())
        .unwrap();
    let token = s.sign(&bound(1_800_000_000, 600, ISSUER));
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_exp = false;
    v.validate_aud = false;
    assert!(jsonwebtoken::decode::<Value>(&token, &key, &v).is_ok());
    assert_eq!(
        split_username("system:serviceaccount:ns:n"),
        Some(("ns", "n"))
    );
    assert_eq!(split_username("system:serviceaccount:ns"), None);
}
