//! TLS to the server, with the meanings libpq gives `sslmode` and `sslrootcert`
//! (PostgreSQL documentation, "SSL Support", 34.19 in PostgreSQL 17), so that a
//! URL copied from a managed database's console means the same here as in psql:
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (the default) | if the server offers it | not checked |
//! | `require` | always | not checked; with `sslrootcert`, as `verify-ca` |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root, and names the host |
//!
//! The trusted roots are the PEM file `sslrootcert` names, or the system's store
//! when it is absent or `system` (libpq would look for `~/.postgresql/root.crt`).
//! tokio-postgres itself knows only the first three modes and no root file, so
//! these parameters are taken out of the URL before it sees them.

use std::path::PathBuf;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` values, less `allow` (plain first, TLS only if refused), which
/// tokio-postgres cannot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    System,
    File(PathBuf),
}

/// What the URL asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) mode: TlsMode,
    /// `None` unless `sslrootcert` was given.
    pub(crate) roots: Option<Roots>,
    /// `sslsni=0` leaves the host name out of the handshake.
    pub(crate) sni: bool,
}

/// The parameters of the libpq family that need a client certificate, which Tally
/// does not offer yet; refused by name rather than ignored.
const CLIENT_CERTIFICATE_PARAMETERS: [&str; 5] = ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

/// Takes the TLS parameters out of the URL's query, returning the URL that is left
/// (every other parameter as it was written) and what they asked for.
pub(crate) fn split_url(url: &str) -> Result<(String, TlsSettings), String> {
    let mut settings = TlsSettings { mode: TlsMode::Prefer, roots: None, sni: true };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), settings));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = |text: &str| {
            percent_decode_str(text)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| format!("the URL's parameter {key} is not valid UTF-8 once percent-decoded"))
        };
        match decoded(key)?.as_str() {
            "sslmode" => settings.mode = parse_mode(&decoded(value)?)?,
            "sslrootcert" => {
                let path = decoded(value)?;
                settings.roots = Some(match path.as_str() {
                    "" => return Err("sslrootcert is empty: give the path of a PEM file, or system".into()),
                    "system" => Roots::System,
                    _ => Roots::File(path.into()),
                });
            }
            "sslsni" => {
                settings.sni = match decoded(value)?.as_str() {
                    "1" => true,
                    "0" => false,
                    other => return Err(format!("sslsni must be 0 or 1, not {other:?}")),
                }
            }
            name if CLIENT_CERTIFICATE_PARAMETERS.contains(&name) => {
                return Err(format!("{name}: client certificates are not supported; use a password"));
            }
            _ => kept.push(pair),
        }
    }
    // libpq: "if a root CA file exists, the behavior of sslmode=require will be the
    // same as that of verify-ca".
    if settings.mode == TlsMode::Require && settings.roots.is_some() {
        settings.mode = TlsMode::VerifyCa;
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, settings))
}

fn parse_mode(value: &str) -> Result<TlsMode, String> {
    Ok(match value {
        "disable" => TlsMode::Disable,
        "prefer" => TlsMode::Prefer,
        "require" => TlsMode::Require,
        "verify-ca" => TlsMode::VerifyCa,
        "verify-full" => TlsMode::VerifyFull,
        "allow" => return Err("sslmode=allow is not supported; use prefer (TLS when the server offers it)".into()),
        other => {
            return Err(format!("sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"));
        }
    })
}

impl TlsSettings {
    /// What tokio-postgres is told: whether to ask for TLS and whether to insist.
    pub(crate) fn ssl_mode(&self) -> SslMode {
        match self.mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }

    /// The connector that does the handshake, checking the server's certificate as
    /// the mode says.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("cannot set up TLS: {error}"))?;
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => Arc::new(EncryptionOnly(provider)),
            TlsMode::VerifyCa | TlsMode::VerifyFull => {
                let roots = self.root_store()?;
                let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|error| format!("cannot use the trusted roots: {error}"))?;
                if self.mode == TlsMode::VerifyCa { Arc::new(AnyName(webpki)) } else { webpki }
            }
        };
        let mut config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
        config.enable_sni = self.sni;
        Ok(MakeRustlsConnect::new(config))
    }

    fn root_store(&self) -> Result<RootCertStore, String> {
        let mut store = RootCertStore::empty();
        match self.roots.as_ref().unwrap_or(&Roots::System) {
            Roots::File(path) => {
                let shown = path.display();
                let certificates = CertificateDer::pem_file_iter(path)
                    .map_err(|error| format!("cannot read sslrootcert {shown}: {error}"))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| format!("sslrootcert {shown} is not a PEM certificate file: {error}"))?;
                if certificates.is_empty() {
                    return Err(format!("sslrootcert {shown} holds no certificate"));
                }
                for certificate in certificates {
                    store
                        .add(certificate)
                        .map_err(|error| format!("sslrootcert {shown} holds a certificate rustls refuses: {error}"))?;
                }
            }
            Roots::System => {
                let found = rustls_native_certs::load_native_certs();
                store.add_parsable_certificates(found.certs);
                if store.is_empty() {
                    return Err("no trusted roots found in the system's store; give sslrootcert=PATH".into());
                }
            }
        }
        Ok(store)
    }
}

/// `prefer` and `require` without a root file, as in libpq: the connection is
/// encrypted, the server's certificate is not checked (it still proves it holds the
/// key of the certificate it shows).
#[derive(Debug)]
struct EncryptionOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptionOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, certificate, signature, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, certificate, signature, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full check, except that the certificate need not name the host.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, TlsSettings) {
        split_url(url).unwrap()
    }

    #[test]
    fn a_url_without_tls_parameters_prefers_tls_and_is_left_alone() {
        let (url, settings) = split("postgres://tally@db:5432/tally?application_name=x");
        assert_eq!(url, "postgres://tally@db:5432/tally?application_name=x");
        assert_eq!(settings, TlsSettings { mode: TlsMode::Prefer, roots: None, sni: true });
        assert_eq!(split("postgres://db/tally").0, "postgres://db/tally");
    }

    #[test]
    fn tls_parameters_are_taken_out_and_the_rest_kept_as_written() {
        let (url, settings) = split(
            "postgres://u:p%40ss@db/tally?sslmode=verify-full&connect_timeout=5&sslrootcert=%2Fetc%2Fca.pem&sslsni=0",
        );
        assert_eq!(url, "postgres://u:p%40ss@db/tally?connect_timeout=5");
        assert_eq!(settings.mode, TlsMode::VerifyFull);
        assert_eq!(settings.roots, Some(Roots::File("/etc/ca.pem".into())));
        assert!(!settings.sni);
        assert_eq!(split("postgres://db/t?sslmode=disable").0, "postgres://db/t");
    }

    #[test]
    fn require_with_a_root_file_checks_the_chain_as_libpq_does() {
        assert_eq!(split("postgres://db/t?sslmode=require").1.mode, TlsMode::Require);
        assert_eq!(split("postgres://db/t?sslrootcert=/ca.pem&sslmode=require").1.mode, TlsMode::VerifyCa);
        assert_eq!(split("postgres://db/t?sslmode=verify-ca&sslrootcert=system").1.roots, Some(Roots::System));
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        for (url, expected) in [
            ("postgres://db/t?sslmode=verify", "sslmode \"verify\" is not one of"),
            ("postgres://db/t?sslmode=allow", "sslmode=allow is not supported"),
            ("postgres://db/t?sslrootcert=", "sslrootcert is empty"),
            ("postgres://db/t?sslsni=yes", "sslsni must be 0 or 1"),
            ("postgres://db/t?sslcert=/c.pem", "sslcert: client certificates are not supported"),
            ("postgres://db/t?sslmode=%FF", "sslmode is not valid UTF-8"),
        ] {
            let error = split_url(url).unwrap_err();
            assert!(error.contains(expected), "{url}: {error}");
        }
    }

    #[test]
    fn a_root_file_that_is_missing_or_holds_no_certificate_is_named() {
        let settings =
            |path: &str| TlsSettings { mode: TlsMode::VerifyFull, roots: Some(Roots::File(path.into())), sni: true };
        let missing = settings("/nonexistent/ca.pem").connector().err().unwrap();
        assert!(missing.contains("cannot read sslrootcert /nonexistent/ca.pem"), "{missing}");
        let dir = std::env::temp_dir().join(format!("tally-tls-test-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let empty = settings(dir.to_str().unwrap()).connector().err().unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert!(empty.contains("holds no certificate"), "{empty}");
    }
}
