//! Frame payload compression: raw LZMA2 through liblzma, one independent stream per frame.

use liblzma::stream::{Action, Filters, LzmaOptions, Status, Stream};

fn options(props: u8, dict_size: u32, preset: u32) -> Result<LzmaOptions, String> {
    let mut o = LzmaOptions::new_preset(preset).map_err(|e| e.to_string())?;
    let p = u32::from(props);
    o.literal_context_bits(p % 9)
        .literal_position_bits((p / 9) % 5)
        .position_bits(p / 45)
        .dict_size(dict_size);
    Ok(o)
}

/// Compresses `raw` as one raw LZMA2 stream.
pub(crate) fn compress(
    raw: &[u8],
    props: u8,
    dict_size: u32,
    preset: u32,
) -> Result<Vec<u8>, String> {
    let opts = options(props, dict_size, preset)?;
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    let mut enc = Stream::new_raw_encoder(&filters).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(raw.len() / 2 + 128);
    let mut input = raw;
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(4096));
        }
        let before_in = enc.total_in();
        let status = enc
            .process_vec(input, &mut out, Action::Finish)
            .map_err(|e| e.to_string())?;
        let used = usize::try_from(enc.total_in() - before_in).map_err(|e| e.to_string())?;
        input = input.get(used..).unwrap_or_default();
        if status == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// Why a payload failed to decode.
pub(crate) enum DecodeError {
    /// The payload is not a valid stream of exactly the declared sizes.
    Malformed(&'static str),
    /// liblzma could not start (out of memory, bad options).
    Internal(String),
}

/// Decodes `payload` (one raw LZMA2 stream) into `out`, which must be filled exactly; the whole
/// payload must be consumed and end with the LZMA2 end marker.
pub(crate) fn decompress(
    payload: &[u8],
    out: &mut [u8],
    props: u8,
    dict_size: u32,
) -> Result<(), DecodeError> {
    let mut filters = Filters::new();
    // The decoder needs only lc/lp/pb and the dictionary size; the preset is irrelevant.
    let opts = options(props, dict_size, 0).map_err(DecodeError::Internal)?;
    filters.lzma2(&opts);
    let mut dec =
        Stream::new_raw_decoder(&filters).map_err(|e| DecodeError::Internal(e.to_string()))?;
    let mut in_pos = 0usize;
    let mut out_pos = 0usize;
    let mut spare = [0u8; 1];
    loop {
        let (ti, to) = (dec.total_in(), dec.total_out());
        let status = if out_pos < out.len() {
            dec.process(&payload[in_pos..], &mut out[out_pos..], Action::Run)
        } else {
            // Output is full: the stream must end here without producing anything more.
            dec.process(&payload[in_pos..], &mut spare, Action::Run)
        }
        .map_err(|_| DecodeError::Malformed("invalid LZMA2 data"))?;
        let used = (dec.total_in() - ti) as usize;
        let made = (dec.total_out() - to) as usize;
        if out_pos >= out.len() && made > 0 {
            return Err(DecodeError::Malformed("decodes to more than raw_len"));
        }
        in_pos += used;
        out_pos += made;
        if status == Status::StreamEnd {
            if out_pos != out.len() {
                return Err(DecodeError::Malformed("decodes to less than raw_len"));
            }
            if in_pos != payload.len() {
                return Err(DecodeError::Malformed("bytes after the LZMA2 end marker"));
            }
            return Ok(());
        }
        if used == 0 && made == 0 {
            return Err(DecodeError::Malformed("LZMA2 stream truncated"));
        }
    }
}

/// Compresses one MCU-profile frame as raw DEFLATE that decodes in place (FORMAT.md §10.2): the
/// payload placed to end `MCU_INPLACE_MARGIN` bytes past the raw content must decode without the
/// output overtaking the unread input. When the compressed stream does not (or is no smaller),
/// the frame is one stored block, which always does.
pub(crate) fn deflate_frame(raw: &[u8]) -> Vec<u8> {
    use crate::inflate::inflate_in_place;
    use crate::mcu::MCU_INPLACE_MARGIN;
    let c = miniz_oxide::deflate::compress_to_vec(raw, 10);
    let fits = c.len() < raw.len() + 5 && c.len() <= raw.len() + MCU_INPLACE_MARGIN && {
        let mut buf = vec![0u8; raw.len() + MCU_INPLACE_MARGIN];
        let at = buf.len() - c.len();
        buf[at..].copy_from_slice(&c);
        let end = buf.len();
        inflate_in_place(&mut buf, (at, end), raw.len()).is_ok() && buf[..raw.len()] == *raw
    };
    if fits {
        return c;
    }
    // One stored block per 65,535 bytes (MCU frames are far smaller); BFINAL on the last.
    let mut out = Vec::with_capacity(raw.len() + 5 * raw.len().div_ceil(65_535).max(1));
    let mut chunks = raw.chunks(65_535).peekable();
    if raw.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        let n = chunk.len() as u16;
        out.push(u8::from(chunks.peek().is_none()));
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Decodes one DEFLATE frame payload into `out` (exactly filled). The std apply gives the
/// decoder room, so it accepts any valid stream, in-place decodable or not.
pub(crate) fn inflate(payload: &[u8], out: &mut [u8]) -> Result<(), DecodeError> {
    let n = out.len();
    let mut buf = vec![0u8; n + payload.len()];
    buf[n..].copy_from_slice(payload);
    let end = buf.len();
    crate::inflate::inflate_in_place(&mut buf, (n, end), n).map_err(DecodeError::Malformed)?;
    out.copy_from_slice(&buf[..n]);
    Ok(())
}
