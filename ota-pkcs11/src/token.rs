//! An Ed25519 key pair on a PKCS#11 token, as an [`ota_verify::Signer`].

use crate::error::{Error, Result, p11};
use crate::uri::Pkcs11Uri;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use ota_verify::{PublicKey, SIGNATURE_LEN, Signer};
use std::path::PathBuf;

/// The environment variable naming the PKCS#11 module when the URI has no `module-path`.
pub const MODULE_ENV: &str = "OTA_PKCS11_MODULE";

/// DER of the Ed25519 curve OID 1.3.101.112 (RFC 8410), the CKA_EC_PARAMS of an Ed25519 key.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// An Ed25519 private key that stays on a PKCS#11 token (CKM_EDDSA). The session stays open
/// and logged in while this value lives.
pub struct Pkcs11Signer {
    session: Session,
    private: ObjectHandle,
    public: PublicKey,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pkcs11Signer({})", self.public.key_id())
    }
}

impl Pkcs11Signer {
    /// Opens the token the URI names (`token`, `serial`, `manufacturer`, `model`; exactly one
    /// must match), logs in with its PIN and finds the key pair by `object` and/or `id`.
    ///
    /// PKCS#11 keeps the login state per process and token: when another session of this
    /// process is already logged in to the token, the module answers "already logged in" and
    /// the PIN is not checked again (so several token keys can sign one envelope).
    ///
    /// # Errors
    /// [`Error::NoModule`], [`Error::Pin`], [`Error::Token`], [`Error::Object`],
    /// [`Error::NotEd25519`], [`Error::Pkcs11`].
    pub fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let session = login(uri)?;
        let template = key_template(uri)?;
        let private = find_one(&session, ObjectClass::PRIVATE_KEY, &template, "private key")?;
        let public_obj = find_one(&session, ObjectClass::PUBLIC_KEY, &template, "public key")?;
        let public = read_public(&session, public_obj)?;
        Ok(Self {
            session,
            private,
            public,
        })
    }

    /// Generates an Ed25519 key pair on the token (CKM_EC_EDWARDS_KEY_PAIR_GEN) with the URI's
    /// `object` label and `id`: the private key is a token object, private, sensitive, not
    /// extractable, allowed only to sign. Refuses when a key with that label or id exists.
    ///
    /// # Errors
    /// As [`Pkcs11Signer::open`]; [`Error::Object`] with the count when the key exists.
    pub fn generate(uri: &Pkcs11Uri) -> Result<Self> {
        let session = login(uri)?;
        let template = key_template(uri)?;
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let mut t = template.clone();
            t.retain(|a| !matches!(a, Attribute::KeyType(_)));
            t.push(Attribute::Class(class));
            let found = session
                .find_objects(&t)
                .map_err(p11("looking for an existing key"))?;
            if !found.is_empty() {
                return Err(Error::Exists { count: found.len() });
            }
        }
        let mut public_t = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(ED25519_OID.to_vec()),
        ];
        let mut private_t = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Derive(false),
        ];
        for a in template
            .iter()
            .filter(|a| matches!(a, Attribute::Label(_) | Attribute::Id(_)))
        {
            public_t.push(a.clone());
            private_t.push(a.clone());
        }
        let (public_obj, private) = session
            .generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public_t, &private_t)
            .map_err(p11("generating an Ed25519 key pair on the token"))?;
        let public = read_public(&session, public_obj)?;
        Ok(Self {
            session,
            private,
            public,
        })
    }

    /// The logged-in session (for inspecting the key's attributes).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The private key object.
    pub fn private_key(&self) -> ObjectHandle {
        self.private
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> PublicKey {
        self.public
    }

    /// Signs with CKM_EDDSA (pure Ed25519, no context), then checks the token's signature
    /// against the public key before returning it (a faulty token must not produce an envelope).
    fn sign(&self, message: &[u8]) -> ota_verify::Result<[u8; SIGNATURE_LEN]> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let sig = self
            .session
            .sign(&mechanism, self.private, message)
            .map_err(|_| ota_verify::Error::SignerFailed)?;
        let sig: [u8; SIGNATURE_LEN] = sig
            .as_slice()
            .try_into()
            .map_err(|_| ota_verify::Error::SignerFailed)?;
        self.public
            .verify_strict(message, &sig)
            .map_err(|_| ota_verify::Error::SignerFailed)?;
        Ok(sig)
    }
}

fn module(uri: &Pkcs11Uri) -> Result<PathBuf> {
    if let Some(p) = &uri.module_path {
        return Ok(p.clone());
    }
    std::env::var_os(MODULE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or(Error::NoModule { env: MODULE_ENV })
}

fn login(uri: &Pkcs11Uri) -> Result<Session> {
    let path = module(uri)?;
    let ctx = Pkcs11::new(&path).map_err(p11("loading the PKCS#11 module"))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(p11("initialising the PKCS#11 module")(e)),
    }
    let slot = find_slot(&ctx, uri)?;
    let pin = uri
        .pin
        .as_ref()
        .ok_or(Error::Pin {
            reason: "the URI has no pin-value or pin-source".into(),
        })?
        .read()?;
    let session = ctx
        .open_rw_session(slot)
        .map_err(p11("opening a session"))?;
    match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(p11("logging in to the token")(e)),
    }
}

fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot> {
    let mut found = Vec::new();
    for slot in ctx
        .get_slots_with_token()
        .map_err(p11("listing the slots"))?
    {
        let info = ctx
            .get_token_info(slot)
            .map_err(p11("reading a token's information"))?;
        let matches = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w == have.trim_end())
        };
        if matches(&uri.token, info.label())
            && matches(&uri.serial, info.serial_number())
            && matches(&uri.manufacturer, info.manufacturer_id())
            && matches(&uri.model, info.model())
        {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        _ => Err(Error::Token { count: found.len() }),
    }
}

fn key_template(uri: &Pkcs11Uri) -> Result<Vec<Attribute>> {
    let mut t = vec![Attribute::KeyType(KeyType::EC_EDWARDS)];
    if let Some(label) = &uri.object {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
    if t.len() == 1 {
        return Err(Error::Uri {
            offset: 0,
            reason: "name the key with object= and/or id=".into(),
        });
    }
    Ok(t)
}

fn find_one(
    session: &Session,
    class: ObjectClass,
    template: &[Attribute],
    what: &'static str,
) -> Result<ObjectHandle> {
    let mut t = template.to_vec();
    t.push(Attribute::Class(class));
    let found = session
        .find_objects(&t)
        .map_err(p11("looking for the key"))?;
    match found.as_slice() {
        [one] => Ok(*one),
        _ => Err(Error::Object {
            what,
            count: found.len(),
        }),
    }
}

/// The public key from CKA_EC_POINT: the DER OCTET STRING of the 32 raw bytes (PKCS#11 3.0
/// §2.3.6), or the raw bytes as some modules return them.
fn read_public(session: &Session, object: ObjectHandle) -> Result<PublicKey> {
    let attrs = session
        .get_attributes(object, &[AttributeType::EcPoint])
        .map_err(p11("reading the public key"))?;
    let point = attrs
        .iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p.as_slice()),
            _ => None,
        })
        .ok_or(Error::NotEd25519 {
            reason: "the public key object has no CKA_EC_POINT".into(),
        })?;
    let raw = match point {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        _ => point,
    };
    let raw: &[u8; 32] = raw.try_into().map_err(|_| Error::NotEd25519 {
        reason: format!(
            "CKA_EC_POINT is {} bytes, not an Ed25519 public key",
            point.len()
        ),
    })?;
    PublicKey::from_bytes(raw).map_err(|e| Error::NotEd25519 {
        reason: format!("the token's public key is refused: {e}"),
    })
}
