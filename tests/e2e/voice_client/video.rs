//! Video for the voice tests: the codecs a client can publish, a short
//! prepared clip per codec (real encoder output, not crafted bytes), and
//! depacketisers that turn the RTP payloads a subscriber receives back into
//! the frames the publisher handed to webrtc-rs, written from the payload
//! formats (RFC 7741 VP8, RFC 6184 H264, RFC 7798 H265, RFC 9628 VP9, the
//! AOM AV1 RTP specification) rather than with webrtc-rs's own
//! depacketisers.
//!
//! Every clip is four frames of a 64x64 test pattern with static noise (so
//! the keyframe is larger than one packet and gets fragmented), a keyframe
//! then interframes that predict from it, each checked to decode with
//! ffmpeg. Made once with ffmpeg 5.1 from its `testsrc2` source:
//! - H264: libx264 0.164 (`-profile:v baseline -tune zerolatency -qp 36`,
//!   SEI removed), Constrained Baseline level 3.1; NAL units in Annex B with
//!   4-byte start codes (x264 writes 3-byte ones before slices; the widened
//!   form is what a receiver rebuilds). Keyframe: SPS, PPS, IDR.
//! - H265: libx265 3.5 (`-preset ultrafast -tune zerolatency`, qp 36,
//!   prefix SEI removed), Main profile, Annex B with 4-byte start codes.
//!   Keyframe: VPS, SPS, PPS, IDR.
//! - VP9: libvpx 1.12 (profile 0, realtime, `-crf 45`), one frame each.
//! - AV1: libaom 3.6 (realtime, `-crf 45`), the OBUs of each temporal unit
//!   with their size fields, without the temporal delimiter (which RTP does
//!   not carry). Keyframe: sequence header, frame.
//! - VP8: libvpx's `vpxenc` 1.12, a 32x32 clip (see [`VP8_KEYFRAME`]).

use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec};

/// A video codec a test client can publish (and restrict itself to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    H264,
    H265,
    Vp9,
    Av1,
}

impl VideoCodec {
    /// The encoding name of `a=rtpmap`, and of op 4's `video_codec`.
    pub fn name(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "VP8",
            VideoCodec::H264 => "H264",
            VideoCodec::H265 => "H265",
            VideoCodec::Vp9 => "VP9",
            VideoCodec::Av1 => "AV1",
        }
    }

    /// The `a=fmtp` parameters the client registers (the usual browser
    /// ones: H264 Constrained Baseline in packetization mode 1, H265 Main at
    /// level 3.1, VP9 and AV1 profile 0).
    pub fn fmtp(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "",
            VideoCodec::H264 => {
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            }
            VideoCodec::H265 => "level-id=93;profile-id=1;tier-flag=0",
            VideoCodec::Vp9 => "profile-id=0",
            VideoCodec::Av1 => "profile=0",
        }
    }

    /// The payload type the client registers it under.
    pub fn payload_type(self) -> u8 {
        match self {
            VideoCodec::Vp8 => 96,
            VideoCodec::H264 => 125,
            VideoCodec::H265 => 126,
            VideoCodec::Vp9 => 98,
            VideoCodec::Av1 => 41,
        }
    }

    pub fn rtp_codec(self) -> RTCRtpCodec {
        let fb = |typ: &str, parameter: &str| RTCPFeedback {
            typ: typ.to_string(),
            parameter: parameter.to_string(),
        };
        RTCRtpCodec {
            mime_type: format!("video/{}", self.name()),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: self.fmtp().to_string(),
            rtcp_feedback: vec![fb("ccm", "fir"), fb("nack", ""), fb("nack", "pli")],
        }
    }

    /// The prepared clip: a keyframe, then interframes.
    pub fn clip(self) -> Vec<Vec<u8>> {
        let (key, inter) = match self {
            VideoCodec::Vp8 => (VP8_KEYFRAME, VP8_INTERFRAMES),
            VideoCodec::H264 => (H264_KEYFRAME, H264_INTERFRAMES),
            VideoCodec::H265 => (H265_KEYFRAME, H265_INTERFRAMES),
            VideoCodec::Vp9 => (VP9_KEYFRAME, VP9_INTERFRAMES),
            VideoCodec::Av1 => (AV1_KEYFRAME, AV1_INTERFRAMES),
        };
        std::iter::once(key).chain(inter).map(hex).collect()
    }

    /// Whether a whole (depacketised) frame is a keyframe, read from the
    /// codec's own bitstream.
    pub fn is_keyframe(self, frame: &[u8]) -> bool {
        match self {
            VideoCodec::Vp8 => vp8_is_keyframe(frame),
            VideoCodec::H264 => {
                annexb_nal_units(frame).any(|n| n.first().map(|b| b & 0x1f) == Some(5))
            }
            // IRAP pictures: BLA, IDR, CRA (types 16 to 21).
            VideoCodec::H265 => annexb_nal_units(frame).any(|n| {
                n.first()
                    .is_some_and(|b| (16..=21).contains(&((b >> 1) & 0x3f)))
            }),
            VideoCodec::Vp9 => vp9_is_keyframe(frame),
            VideoCodec::Av1 => av1_is_keyframe(frame),
        }
    }

    /// The codec an `a=rtpmap` encoding name stands for.
    pub fn from_name(name: &str) -> Option<VideoCodec> {
        [
            VideoCodec::Vp8,
            VideoCodec::H264,
            VideoCodec::H265,
            VideoCodec::Vp9,
            VideoCodec::Av1,
        ]
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("valid hex"))
        .collect()
}

// ---------------------------------------------------------------------------
// The clips
// ---------------------------------------------------------------------------

/// Prepared bytes, not crafted by hand: a 32x32 four-frame clip (a bright
/// square moving over a gradient) encoded once with libvpx's `vpxenc`
/// 1.12 (`--codec=vp8 --kf-max-dist=1000`, from a Y4M file made for the
/// purpose) and checked to decode with `vpxdec`. Frame 0 is a keyframe
/// (frame tag bit 0 clear, start code 9d 01 2a, 32x32), the rest
/// interframes that predict from it.
pub const VP8_KEYFRAME: &str = "3004009d012a200020000047088585888584880202005380f9019c01fe035dfbba45f2f85243a1d229b100feff2fd0d433e389d7feea3e8ffb2e6df7c57bf62dd77fd4745a1a661e390651d6b7a200";
pub const VP8_INTERFRAMES: [&str; 3] = [
    "11030001101000180024402ff400d761295e74a208553c8f835400257e20b9dcd4b52000",
    "d1010001101000180018582ff40057b27800",
    "d1010001101000180018582ff40057b27800",
];

pub const H264_KEYFRAME: &str =
    "000000016742c01fd90426c044000003000400000300f23c60c9200000000168cb80a4b2000000016588843f\
    c42f51b0228b7813d400c02529872f261daaf408a6e2dc6c08eef52a17a07a808d093264b66f8d00cc5f14e8\
    dc9622c0678b4ae9c9a4fddb30641910a387d22f92d88f56ab2b958be1bd4633ffac9173bc5ab6f810010429\
    e1800a01a00338ab486842628358e1f3a7dcfabe583bfa25b9dd000afd5aabfbff87e5967024513519e4513e\
    b8e373cda7ffd1153111670624634f4527ee23a9af13491ade422efe0bec4c7faff7ed6f3d62adcbd70c75db\
    c2b6ac2d149f5f06fd135afeb47cd38df7daed896fbe535988baee4f0a4716ba2d451fdaf571744f5eb7c630\
    c109ecc6712f8fc691b06532b7252e951bdeeb5d6fd39da7dbfb3ac8f1aa6c3112f2f7fbf077ededf4cca6a4\
    def703181986fbf265fc1c09fdfd56b5eb9e7bc1532dbcc9b496cd229d0eb88af9bb0d07c282390b24c9e1c9\
    f607bce6122ce5767c80a6e4d7ac7a52981c9dee913539b0b57de5f74c91e3f3f8673de9d299aa9875edf1f4\
    7b75750700080320c07f41986159e0dbffe7327f440a4b3818ba21aa1df3592d20adfffda9ec31ef519db434\
    77dfba41a68cdf4fbf8eb474cfde5116611547d1e5fe046a69ac53c29648cc833b53291d7ab85eeea64d7f19\
    feab74970d2fec529eb495ef192b243e7a5ae25e576e94c8f7aebd25d1b3c7e4cb080bbe703d530fbf9bd61e\
    d85ceff30728401005417325499117bd30915b8577ddc3b33b477adff407b58894ff7ceeb28685268cfe99c3\
    ff28ed7dba2d2a68713bfd9659e396495a95dd48040e402f13be4077f93d3d37abaf762928bb235e9faf4cfc\
    452f07ba3875c2fc453518d91d0c5e70f5ea5f45bfc74a2e09280c98040e047216fa633ca8eddd215e6d7c67\
    6fe3bbbe8b1b3e4f78c99d10ff989b95a4b64f5018dfbbc0f32e7c60e67ed51d759931701822f7e22bd05d72\
    d0cf41ef0b9176ebf0f5a475efb650e9e85e0c87a08006b27fb28ceb99eaa6ff5fec7f9d5afc136ff0f2587e\
    93e1dbc6a06536e69de067dcaf686d54e017dfcbe795fa05ca0a06bf435bd6b403e019c81b1a828c658ddf4c\
    56155a5f46995147f578f68035800422032df69a2e573576bf4f26d39bf5faf56466dbbfb473fd51d8dd5ff9\
    7df8f698463740770bb6233f0ff81ecc477f76497d7ff74f01be3d17f2a8c5a7df4356d7eb03dfeb606e91e1\
    23401230e0f5accc72b9a013a41209c40a6043bf9dce9dd77e377f21e1906c655d7192fb8c89b3ecf918cece\
    f467a3232671ff4a0980f62511a794c949b28604ccf50ab7a14fa4c870f38e95a601c8b40589a68155be109f\
    40debdd3e568ed223ed929525811b30c0009a01222ebf1c7656f56e93e0f6fa71f6fb4f465d40318be42c8e8\
    6c9e9a2d8e0dffb4e5faa7ee134080109f19610086c6b5d9934566bd2b8a281ce3124e81f74395d155c9c963\
    5c9190535c2e428ecdb064ce4091b8196e104512100811c1a1900c6becca46be5196a5399340fc0113d186b9\
    3e5ed1fcb6567ff3e6a07478648fb833587f5a155accd170531c89af839b40672e2d19da22ab80b5b80b1910\
    c7fe49f506976cd2ef523e3745d41bf7124572c6db029b6edf6170ee0855881faeb74e17a702478400229428\
    342cc3faa40d5c032f7b50459dfc9a8ddb0c24e5086baa6b2c081ee5ff5294fc7617c52c91d3f20ce0154f48\
    cf099f7392ee7ccbcc76ee09dffe263b4378a21b4c169de047ddf4bffdbd2f3c71dff329935c8cc9c4a958b8\
    9a7ec90e00dd840502b9bae8347cf36f4d69760c17acd3bfe751a50a7466d4dfa267bf57d1cba23fdef98bc4\
    cb5bbef861e625dd4c7067ff60c385780c68996d30ca0ea9d830206f17d370b662fafdaa5561a666cb35d893\
    51cedd996835076829b47189a081667080484e8b60433daedd88a14d9a6e8ee18df497f517be5fef49f39bf3\
    8370050f059cca4be153d3f9bee9efc9ca367caee1ddf2fb33f9d67b0237b33fe80f999d65ed6539870d32e3\
    9f647765bca6d0b658d8c94e10f10a27e1016a7a3bd6b8e28d6b03b51506f42728766f865486572aefa9ef35\
    0320a31121e2b9c0ea0484c2071527913524b88a72a3e6e76a056e57f3fbb732d6aa13ff20c66fa93f9f895d\
    81b29579b1b7a1af3bcc09d15139c47732d04ae91fc4073d02009dd02008be556e25a079db24e59a4fb096a9\
    29ff1ee1ca869c480c93bc45ab0e6435ee6c1a0eaffd919310714fbe9e2ea583c69e9dfb752e110ba65989f7\
    0d9b0f4da8ec65d820cc003067fca462dd315b8fd712723ec4ca4e21ed8acca238b7b867701c09604020c703\
    dc2fadb59ba859eeeb47da5eef9dcafd51dbfed455ba80eeedac6deffbf6435d8102d087b789ffa2";
pub const H264_INTERFRAMES: [&str; 3] = [
    "00000001419a39e23ab8f0e41d5e0eaf00e1293e3d7381c02cb73c37bcfc0684b4b0e4ddcf0e15f7397ff482\
        fe19783b009f81377646eb7a1cc7e0205f76fa40197f7553d0fabdd5bfdd761887db3741262d7f6435b4607a\
        6f90addc5dda3fe0d1faf3a3d7fc16a1ab458cf17fff9e1a83abc1d5e621593aeb9e1c0b7b9fc33e7e16a0aa\
        41c2bee7c38175b9ff0d5b6fa5e393704536c1c5367aff8c832bf7eebfebc3370774b896bfdf2daa8c1fe0",
    "00000001419a5479fd5bf3d2afc39e4a4578bf061243803b9debc9ecb9d3b3717ee380266954faeb800fd3b4\
        afbeeabec314d04cb7b48a701d97df138ffdb53750b9ffdc09327937ddf4fc350113fda9fde7b6038ada9f23\
        bcde013e297b7f66fd04da98bfb0d701329a75abe80bbd3ea97f798de524fabbaa71934689f870",
    "00000001419a63fe78423fc0da038867978081924949f78308a5e477fcc517ff483905eda872b68f300597f8\
        23d1fb5fe1b87e55536e4e1b4f772dc329a7e01e94d53d153fd93ebc8bc35006019f78e73ffbf7cba2a7f35a\
        1cfbd6b9e9d7eabfcfc0",
];
pub const H265_KEYFRAME: &str =
    "0000000140010c01ffff01600000030090000003000003001eba024000000001420101016000000300900000\
    03000003001ea020810596e92930bc05a020000003002000000303c1000000014401c0718112000000012801\
    ac76a0e0db88cdebf16b4b03961b71f023361d8667d9050c17c372017d9d4fd9477a05a19e2f81e85a98a673\
    f3d8b2e828304eaa7c4b2dcc22b9374c9aebfcc3fc2136f10ac4ccb64c2e3a3357b9ffffc6fbc8d965ea25d6\
    45a58aa13a93157456b9e88f0ffafffac1185879c1e361a9198683650e15c721bc7ee66da8c8ebe706bb689d\
    d278720d079f666d69cfa57a31145f410f02c38c555939e1808faf1027ff9e39ec1b17f3a8f2876869633639\
    a8500746d77eca88d75d6b683b3e89dcfba009c56f053a47ffebe7b19fa13d7dfaaa33bb8179609d64201866\
    e03d72e475411df32e8050579a6533abc3dfc1b91d5f99a97a9e46ffd2b1c9ce779334173ae59b0a180e4844\
    489c732cf2d72a8c94e2beeced4e4960bce6a64aff593605c56a939dac8607f54cdeb865c639f8f9cb5ebfc9\
    c2be5d8dd2df02d4a85bca0b6cff2f0a77570c09b8b01a9b3cdb5fbf927e3f5bd0db662675429a249fbcf9ac\
    323eae15569903f69a4a502af6cc15bca7c04e953d59d40b336da81ddc41bbc8721c2e3055b8c6389e7e527f\
    0216ebf5dcb85caca7cce3bf6f6afeaca2cfdf17426650155d50880af265a49a1858a01fed465dab74eaf3b1\
    57f8abdf27e9276e4674f2f0201d81a82964f9c09caffc9c80d6791422727b80095ff4e69073b2d12d9687b6\
    dbfa9fcd7bde9407ad67c1934d8c18604b44dc19e317a6847e28dd554eb4a845047b61d2091db5b3f464830e\
    69e8a04d2fab5d011638e9af5e9e3791c798e8bfdbe9b1836559a249fc185b8d32ee6a3eb39b4fa9aa4947f8\
    42f432a0ac06508993e1d18a390e5b91b6f63281d3c1b251c6df691a3ab615ce276635e55338686ab0fb337e\
    f44d794410a18f6c58ab338cdf703d59b8a17b2384e973bf9e38f488eda872940924b82993002a5c6bab4dba\
    86382ab9e833758ce81d4ae398268845f6f815ed64a84d39688e1eea18e66e9eda8bdc9ae49c0764acdba3d8\
    7d987741b1323a7228ea7fdb27f1b8504a83f018fa08bf5a87ca91cb447da4c95fb0860349f2d0b1f4f7c58e\
    e7d806fd8cae459096ee98114c348d7981c07ed90e8eb954b3ee833bcfe9d0710f654e2c2e4a389cd2c2ea15\
    d0e1b14bf187db1bb714d5aaff658318ac85d769f5ecc65fefa851c2680cb4a815aea448322b952f8c9e1ca8\
    b6f1da21414c335fe2544e2226c7e6869ed58574a84bb1b0e3e7534913cd5b858853537261217fdcd5e648ad\
    6aa30471618379ae9a334db88140342ced70b8def9bf276d0d6edee51e395cd3e74fe23001f21fbc0ec4ded5\
    b0e802a6952043f631d5e50da278050c8e1b1473b2ff9d84035433a13a82f3eccd0572785a4e3c7c31c8e5e7\
    8c144b8531d6130be16ba6faf912b9f8ad06fcf4264c3a8450a47276ce532bab531cf73bf1d8b4e3924417e8\
    f5a13e7c72d5c269f44fb706ea0f160afb436a3f19ee525e71803391c0610c02c1e6790d5733bb43b8436eb4\
    0b7fda4f38115c41459f08420011c06e3b45ad26b0567da5e0eb91b2b7569b3469d3929e24c68949cad6cb38\
    11225381874762156028c7f382dd7fa0c2c89e8d1cfdf8155233ec733ff78888d72e921e4bf24d33f3e1c1ad\
    e78eb0bc4abfa6cbba8685091d01fb4070c7d46ed69163ae64fcd1f085bc7587c153fbb578e43d9c5b889f62\
    30b9462dce4642a56c2896298825c54173a2ef074197556f34f8094f19e3e336ed55b1d9394dfdaf5794a52d\
    d8e24cc25d3d07fec6466c2ccad0e5105cb8fbf12f6368f46e480bce6c6d0fd3e38703d8b46f61023327e10b\
    c404f8d5a883f4727d0392411e8e39189caf16ca922d24098d3c9cd22ceeb3f36257aec5b09d8ca5f59b4161\
    920839d96e6bc301559ffca2ea0cfbd73a77e15a8dc0ca93406ee55521ff2bf64596718284f8a2becc4196a0\
    42041460c02a2fbbe01b0b984fb117e4150a33e6f302ff62473c9c81f6208794ab85dc5eac8ffd5556b2fd49\
    35ccce92ec85396b45e585e4fde210f6e2609eba4af1bddb07b6de770b1608dee1352e11d1eb3fae57d22ee4\
    4da0addaa25756004cd5523b3d96880220f4c0d14ceed13e407c83855d2e01ae7d688da04538";
pub const H265_INTERFRAMES: [&str; 3] = [
    "000000010201d00978814cad97d3cc5002d634b33f448937755c536fffb8f7834bf8a1e8985107f9b8fd2015\
        83c878e4eb507fb83e6cb5c196f5697a0cf8b537e7a919000cf3a64814c946b53474ac798586a6e6aec4b328\
        ea6bdbb8806b3b7d7f25dfdb66f06acc816a4645a53c5a9cf9f9dcd301a343ce308986eaa0715fcca0e55287\
        2e5de1bad53e2a80fe2d8374a0a020",
    "000000010201d011fe2051c13309e64be912bef5c1aa8d8fe6d7768cf7f7d3cc02925975002862c8ac5d6a18\
        75e238d12b943f4bffede561fd19cff20abfbfc37be06e87caa260ed69ffa2f507f3474b9a8fbe18c9f9abf5\
        c9eed3ac259945cd35ae1c3fff9306327f5b4b19ac2bc5a47e366a80",
    "000000010201d019fe2051e7cfff53a8da63f2a4eb5675858a2bd85a80ada48b7b800e00754dcd9e27b8462b\
        1e14a61d56ffe608b699418a233fbb3a99a92e0b16c4d33035ffdb9a23629c6d0840d46888f9b375f8d1c599\
        ea2146673d7f6fd422af152723890b84f7649f42a41f5bc0",
];
pub const VP9_KEYFRAME: &str =
    "824983420003f003f61238241c18c60005505f19f27dddb7719ad7deff99ff6e75d699beba5b52ef859bfeaf\
    cefdfdb9ed3e4f6fed9d9b9dd7447b37c9f6ff1bccc1a67bdf81fe49e61ed45d53dd7974274f81e59cbdd3e6\
    fd3fe9ccdfb3f2fe2fcff8c01960007e9ac7bfe1b595d766bd33dbc5b273d6c238fb30c62ab1c924ceb84018\
    2889b37e7d26cff9d631f01895f6e31580a28bd6b8c16b1299a1ea68721420a4b97b751d95bf906dd9d43b59\
    4a0a6e1b046885f939522c848e03ddf07d2954838137a901b090d115d0bf93b79d4a0587ce017d806dee4340\
    e72662e1872f54272babf8d80a14a7fe093604fe27209eff48df4a049b9abc373803013643038454c70c1c8d\
    12573ac87eecd783499d7287ece6b0d4259ec94c7a8d661e2288ae063f4248cffecdcf39fb250a63f5b93d28\
    92b0d4acb4db5186eea434129b240954e5d5ece143fef0a69acabcfd7517ee3f177989c3e700cc0041a30ff6\
    de2ceaebe76c8a91e598087ae669dd9b29b5515082b029501a34b01f0344d2369b9196cdf61b83f1e4809c63\
    6057f8435ab598d0f96293e7151e109d972f4791f526b2c3670cb535a766bbe55f743fb7e5a2b14ebfdbedb4\
    75f7eee2220e4c81def96dd2901ff6893911409f351e2ace639ba2fbd3cbf93b81b2157816e8bbbc9fca7906\
    97d25558a6689fb2695cec7fe8aec5f7ff539b41b6d69cdec4c4902eef32e95f91a5e9c65f16717864c74313\
    ce28eaa064c4ca43e6b4a20694cfb15bcf14df3b3ffca863caae7229021b8ce51d2ce16a260f567076341a33\
    d3f0bea59a4c4157cf2358748667654f7ef0f4ec1fe548c831f09a6ac8560ae8f7c993e5354bc2b2cb69f7bc\
    6eaaa39416f10e46dd99e9948ac832add40c6d99173980d741101ea2d606d2292daa859488506f808e61577c\
    97c6cf993e182b180bb0d0a74bdf817a7092991d93b958972118247c6f104d56bb2c88e5bdf4f6031caac33b\
    bd4dc3146a291a6c7b2f677eb2fdd56eb5c6d125560f69d4dfecce1cf1e3706fcaf4e1822938888a2ea1dd05\
    b28be93bc0510c027aad14f5bfcbe56658d623c089c06afa179b946d10f801518996705b72df24efd8913840\
    cb8c6fc3482cb1bf179dc17e7b8027d0877266651db5f5390a38b67a89d82eccec32eedeff4d5d93ddd0e352\
    29cb4af9d5f960aeb69a7442b3222131fbdfdaba4e49154c24fd2c787e5d0202bd7bc544fe654c9570b1b507\
    4377d495e059eaa7b9525372250d2326ec50114feae8181e27b2c41430f3bd65d62656965523ac7cffd6abde\
    d3a27842cc89037719e29147d0e6c383dc47fa91a98eac5cf8dca93539fdfd706e0f6e176b13f34fb2f10dd6\
    752137f4f0aa171c74e26983c4ee9b6ab29f77d69cce230d59c7dd957d2fabed05db98d0be8b605d291383f8\
    c81f2b2512c6566d3f5883eb2e0887fb5e49a354ef53ba660dc8548ffcfd06df2b0e7c62c2f1de1d51a64b36\
    f3955330abf8929cf90f1f793dfea270625da3d0edf34ff77d3ff238525e9c059d7f703e7137c01ccfcfa533\
    ff90014427b8284366f9d7dd91ab77643ad665749d8bc19103dec9c5131fea03587939f5bb6844fada5037c0\
    77609434061515e9fe0ba7fa48f39cdf4267593c15fcd18dbbfc0d1b7d5411ffe8f8807333cc4a8f744649bc\
    debeff32e97f5a6c9b7b94d5ae8a8ad397e87e90735a12841dea01ff427f4582549f62a0ce9fcbb2881c12f9\
    a7096b654761ce002f45d3c809ac8a07538050a03fa64e31cab145dc65f289573b870d51182495d9e2f039e5\
    1774b623ee140c3c17cef4b6575617b7fb8b69b2b931ea2a6d03222f79f7662218e05f4b08f231d87a4f0bb3\
    f6b0af97148b5ce739c668d09473e2c010d9ef7ac9c52458e304c1c3b1c8b6a5e24673259fb0c6475797a6fe\
    4546210dc3f536d0f61ef232b30d54137084da363e58e221725ea41aaf9a7b58b99fa2ac95801169a5e1da42\
    154983847c7f4eeb8cfb8967a47b076bd608cca194999dbc64ea6bb707a801355237c2d48be22d8d83585aa0\
    3b0f88413de8cf8ed64a1354c5ee8a69c27af7e6246e663879828413b927c704b5d97e8abe3ec6912f02d8c6\
    d93e0e70739deefe9f55879924f9b4139a6bb65311df81fd01a93b2da5df88511439eecc9240066b943e7b2d\
    30ad89411aac7e3d071ae4d2236f7fc179c5a73d3d1000d4abdc4a7dec163f16c80f7e57c8e1224dfc133282\
    e9ff75dbf812fcfa942cc4e589699bd51f40437729332e12c31a8d2e227feb9a7dbebb2d0d66d1e6edabe792\
    7b3fd711d8f8c8f1ff9cb59fce29aac281802ec8e24926e413d2c13ec05125e0b1d6cc47c577fcdc1a5c1445\
    7adf031c1c4e6a507dbebb06cc958f4872cdbad5bb274ac580e06e8bafd6b69d875d13fea7cb2a14309793d6\
    6b9e4a78383577e49523ace2aecd31766f918db056272e4175efe6227cad87aa1d6ca0d06ba592ccc14228a6\
    273120b80b0e4b3c75ad8d0e1af6da0f0d157df6943c3e61e97886b3455729f7f4dd5092a86662250078b576\
    9b2828f8366761ed16f7cf5c6743b4ac4320e1012f357cf00495fbf60d2332dcfb274085f561b2a8828c449d\
    c4108c926e288d1ed740fcbf161d65a9c1e50ba5592a49701a99bb0080f8dbdba076b9907e67f68b7de35756\
    035b8283d2af9db7658ae567bab03bf84d552be18b80342a332071d1e0c05100b1125f6d36bba3064bf2a97f\
    4fdb117df1c2eee76206e797a0714939e2c9a0b72a75a4cb8feceaf93173a3b9c06ae88b0f33ccbd975a7363\
    2d82c81085871f6d5911a5622d82bbd00bc0ffe03e47d7956b25f79f971765e2d0003f7d57b1954142386414\
    e595c9c87d0f6cd71fdf7684149c04da23902bc47dbbbd574bb38c2d4b37f4fe940715ff28ed5e6ae45ea64a\
    63e4a7cf24c3def4943b77deb898c468a8743f75533a3cab60f8e2374953957a143cbe23f33b3765d256f2ce\
    c0a1c5a1a5d28a5bf6b11813b00aba1fd95394e2fe17532c522c2db05bcd2d991c39231d6aab0c8d86a9259a\
    5e9e610776efb2407d2b3e70e75a767d15b13ceeb0edb53410e1f71dd8e6241b970fc2325a3fa56b936f4b15\
    5aaab7bd4846f4d40ed4dfd5ac60b6bce26d7a5d133483448722a64dd9ce1f97b9b278ec37f44862aa970fed\
    b538467fa8d71feb7c5334ac552d9198ed321184d868359202da087a8b27957b9edcb37e9455b993039860b7\
    6e2a8ff43b10d884993a353c8bd5c1e0f9d5c9dd0bf527427aa60b5f899e962008c5da1eef28d80fac9d5fa6\
    2b0d2ce0ced16cf1b8e010f767bd9996baca22843148465974b5d9fb6ca79a2a1ea7d77851d2b1655e1e2674\
    a8bba760268475343b88582ccec7b5b2d43ae11868f8e41b04f17189ee31d5895e64c99a2b859901f9175f3c\
    69a39c6d816946162c99baf06ac2dab42395d4df99a6a956595911872f5c0a851abb919fa2a0f4403ad2813a\
    490c43af0a54e000";
pub const VP9_INTERFRAMES: [&str; 3] = [
    "860040929c9c568000037000007bc26ee58b13639cf18403fee3b1054769214621b0b0bda0d5f74c114586fc\
        1c3e248bcd810c97799e5dcd5da812e457927090373437b9ecd8600a766d447046b977eb9f4280225c0a00ba\
        3e859b5ec52c683119f786697f83713c41ffe4a248e1fdec9553f45d8c42ad15e1f451d83e07c054007e2370\
        5c9593c000",
    "860040929c88558000037000007bde8adbae0e42b74e8bf8e6bd2ddc7988bc820a70d64e5d79bcf60e07a4ca\
        2da1adad3bf1fed47f1f938f0abe486af1bab0e293f53a3a35258847ca1016a7b41f9d839e568bb248a45e1a\
        07d91c3479d676cf2025ae74eec58e796905fb35e83d2dacf159eacb69d8c333155a366116a01a383d31ae39\
        40f5f16888e742986d2a63b952e9f47b5c4809b0525c4ee6b650c387e57122cec193d4c37800",
    "860040929c9c568000037000007474734ff84de33c7779142b58c9f03a8645c1c30bcef28199a260db6a9f90\
        000b3acc800d5f7c4ed60b500f5b63c2e72f10813c3bab5ad8a6de4e0e632500b797768b8d00",
];
pub const AV1_KEYFRAME: &str =
    "0a0a00000002afff9b5f200832f3161000a080186186241040dd4baec676413cb871db095394258af2660803\
    5d0ff2ac9c8102080f381785871e5fecb08e2010589f6e918d34cf9c422bdd9f322a16b636fa5a289b94cc57\
    8f224ebf6b558a93be2fe9a844e078b9159ce57acbfc1a811d30267612ec4a65bff1f751c332eec1b0f2126d\
    ba2f030cb686503baa3a20c2e9e3425696a421fda028993fb54129ac4dbe03494ad301812af7fe689a02aab6\
    ba833a79180b29a77753c09272abd97f1b6a493b66bd7ea4f257f31c3eb344a91eee406f1e01f6ae2c9ae3db\
    a50991ab39b7d12f4a17ceaf9752735ca8de5dc4880a606a07ae9829bf762f5fbfea3c25f67514da8b4ffa7e\
    c9d4712db02ae4d962df7d37eaf3bffa1b2cce6cff300ff7155087776eb82d2817b1a7177a7b245901dceca0\
    731a9d773a94c24b6ace2858dc8fb50479d6b136afb9c529dce683d86e1463129b74bb52d769d8092117275a\
    a4817fae8fdb451e375515345fc4a3bf64161a9a7068e5c1fe7003bd1c328409f094d797b9c881154e912bb5\
    e9df8b126a14f35a3a0e7fddc8302ae6a1dcdcfe3d934c47d56fe0eef6510cf3082461483bebe33f01c12541\
    b0aa5e87fb3ece8efe9eec5bbdef84c2118df31f44efb0c84fca6fcd03b5ed80fd6195331d76995c37ae7104\
    cf6a2e3626156dcd1143c44b6fff9c3f267e6a4fbb20fe2b8d7843f64a7bc1a3efc6c2e242a36a1d9bfc17bc\
    b243ced9a84b0ec4042fed2e7a43e68f9cbbb564447ca4f124a72b1a3daad640132a8004308d45953f797d29\
    cf3cfc8a681005b85d9f90ef3d3b892aa347b9e5aa7fd538e1c0d8870b9beb358969030f77e591afe73290e0\
    757990298bdb2124a174c43b39a42d354d514133d185a2be23364aed381275f16af9a0ac00f866a78ef0e31d\
    8015bae7c4a77e94bf90942b5dc04234cd5fe95186d42d3399555d25bce4bf079768c61c3631d301930c3558\
    8e493f6e8429fe50cb9f82a71d23d6e5e5fe814b69fc8ee4239109d9468382f9b5c74d39dccd07a7a3b87d24\
    14ac377789c74db6561d3e939d3f68e63e64cc10d165a25417e7799e188460312736a996b0dd89ce47d3ce72\
    e0a925fcab14804e5371668aab3d19c210e1e0f7dc0076eedb983f4f52d22f746fb1d98e7343e96232fb200d\
    270516bcda5528e85e7d4c5067ad66dc5030eb6d1ac147760b520f4331e66c43585b38c7f62f8b5fb9c973e0\
    77db14f2be53b35b00c49a3a282832a1ba2c3ef3e1a63382802198002c302fa39934a7f1af81c04d7508eaa8\
    b104553eac1303c0d8659dc70d512c41de7b4121317cc9e9266f421ca1ce2a5f3e46c880698b3fb0a9bb7e30\
    90c2757856ab3c06bae4e7379994bacfcdb1bf2a2d722ad9632db0a0c2e9ad81a67fdd7fb45621efe23b3b57\
    b599f6b172c87590662b465da8f556b39e5dcc0a2a29b39618caa0083dd2d2fc77dbaa8a0045e2044af847a5\
    192d43dfcf5590d70808e9fefc1e03343e4aaa77e5f1827706bd172e1d2423ae28f87ec716461ca6fedf3d8c\
    7ffe5be6adb0660441f742999ce67f2f91ee1c285a328156fa9e4f1988ad7a1b7681948c6253379001e298e5\
    e2f1d05eb35107ca490eb8abce776dfd0ccc65596822f06a50e04d03857811b342c0ff8605dd41e5ce16d163\
    0bc7776c694a8fb443d098c8f4640026cf0dbdeeeff74bc01ead92e8494014624ba4fa682480316f1c25e04b\
    736da4cf3fede66622a384b12f073aebaed6066af6b5b168e89f5d670fe42bba447d3a58e33f26ed095f9acb\
    30e470b15b457f2323ec36e108dbe70b51045306109c640068dd7706090b1f4b6f20541fd4444606d9e5d750\
    3fafea1e17b49f050c8ffdf636e456339b5fc1828ed5f39f57cb73e77d21797fbe86ed65d1adb533820223cc\
    88047414be16dfb668bad3f9a5b2024cc65cb733419b932fd6a080e5a38f1211490a5ff3d4838e222cf806a1\
    b002f268ad9ee7bcae60168de1142cfde676c154f5d178ec63c33e32b7c80d7a4c89043a735c1a63b46de90d\
    5c2e7ee77c91b9a3d43a6b5c8a32b5ede228666927d46cac894e09fb73fceca48382f317284b6d917a8e21a2\
    af93f4a4c182a341d1e37230fccba28ecdf5d5326d04dddca69ef67d9350ae8fe9c190407a3703c473d500e1\
    dec670eaf94748433d2ed0b8aa8d7add60551ef7c798f635e1802c35262f40d054d7b6c320148c5381525dcf\
    92e5475d6ae548a604d3548a0c13b0575771b593637037555dc62edf9969bdca418b74fe4bff0d5503d4d517\
    153106db57f62d8b36e9fa29b9f146fee789a07d053115e4ea4a18037cdd4153badd640780cd970a7b0c82ae\
    54cec14d20cc4c8d7ee41f029b113cadebb09d203bd7243ed9e30362194fa38605a0651918c4cea025de1ffb\
    0a04c9273f686e206b6b8dc72510fdce6439c9a7e7773906920c1bc4bfa682dfe547c5562d56605beeeef188\
    888dc7ea54720786aa578607e4d2d50ee79123cc80046f966ace469d76300141936cd8075629ec0587c3b45c\
    4f2217f7541a1e668e653bc4df8bf0015e348c098079a7ae666a5d01fb1892de43b92f7563c8cf94b9647f5d\
    433f4b69e82bdf3d70a281f2078fc03e5b08336b2b7072617a17878ff3d18a0c45642301399acc42bfb5f8d3\
    00da2aef4775d24159183c3d1bab1d2710fe71b4b2c330b733f48a8a8353765a2735bfa1f46007d188f39b74\
    db7f9021d475304c0482c4b9b8a2803bfb4ae9e96b2966b0c2a2f03cf49598ce1f86de1d2587b94757f07b40\
    94cc14962fb6a7c36606157959b2313dc940939a2e6464b6bdf3d6446984644dbe7381635e97205bd29e3bfe\
    05db9e79b14036a4976b63d270d8747bc7029391333b0dc359d22c281060d2188fe8b80e20853e03fee9b433\
    459cd4bd50953280f343b713fab46b345671746303ca8bb567caeb7e7016c1c5804d0ce4a37a3740af1c6aa7\
    93fae2075161d1bb1991cf1c53a9060ed314c2191b672b66fd945b2e085aa62b29a396c0bf1768bccdee7374\
    b24fda57ccfef7a117c46ee432581d4a37beec1a86451a60cb3f7018878951930d2a60406f546928be8cbdf6\
    14cef14b957568960874a76d8dce0aa974d06e2cc29d5031b9b0ff4768c08941d9f1442c083236d0d182997e\
    5b8830b7424a94192b4c8b5eab0b03f0a7a8b54b2d6f51e91cafead975540838978db0a7197a7b54e9cdede1\
    fd08e53c9fc34aeb3c7e0eab23ef193b5501a9a06437a60f259efe9d2ac62dff49f0e53a47300a42decf4add\
    504a17dca50a9ea81a989da9c604e7206353e90575871e150cbd30b26e559431f99ebb250773f20fc53acc82\
    ab1fc622be8992455e8cb04e117ca4f4388f2ef1d81c0f09473503d815eadac73c4105cfb30ed4742849c3e0\
    e00f1a741de62113c13197c42a978d7508960520984223c51c8b4f2d9af9ec3422507e0aa11159664a0bb333\
    0f477b52eb24e7eef77568984863b94440aea639d02547d8ee1085589b74b932b23fbf4c2fa4431c98728817\
    a347b4be19810de871db50ede6709111453c47a5c0ce93a7bf43aa1e9b106caa5042d76c5a719a1569f23cc5\
    84b4bd1c9a8b54962f672da2ba31bf43eb2242513ca921975989d89579a001f683ecde76951cbe766af17eeb\
    b1426b9cd9990bbaee95d742e9bfa06f25a8dca928cfd7fe6c16703dd7ba05612e730b1cb33c6ab47a3583b3\
    17c4f52907a323e7b7a172d17ef0ace54c0baf18e01cfa657d5335958f916fdbc3aa06171f02787f3347212f\
    50dbf6ad0a3cadc6dcc2df7c0ecf0cee1280194d84a673d3d3caf114221243a0f847ae686ede8f98e79232b7\
    af9450e0a2bc631cbcb797fca217f1c7ab15bda5c5623a5920d4b046c9890bda6efdaa5d23f3ab5928bc4d90\
    ec00085ba7015c4cf170140e655e61cd1a2d59cd9ba7c88cb89887e05070f1f20e12bbe2688d8ddc422bfb61\
    4a75194bb8d0b564a9f53067ad4c0f8dee9b846fb29cd27cf7e3901fbd0abd817d193b6a3ec39862d0fc192a\
    5bb6230480c2cba0846b16b353954f41a210f70da52b5a60984ffa9e27cbd0967ff489d12c528ed421269291\
    cb85a6e71184163513ce174affb2710d5026cea4319b6862f4cf0ba0114223056319014be3df4b4f64f0";
pub const AV1_INTERFRAMES: [&str; 3] = [
    "328f0130038080fdf806da00baebae28344a00cddaa2f0a60cc8fc5f3efe7a37e9489946f27f54b20d8b15eb\
        6ed273bed1a79694e1bab942e0cc2a31c9ceeb319289606e1f51f60e452479985b985f512140721dc191b055\
        d2318df2aec1738a8e69a654dfd4fb518bda05e6e997d48b191ca622622dc3b71f4912be830c70d0169cbe20\
        69418027b7bb4168be5dda801040",
    "326d300401057df806da00baebae28344d00ca93f62aaeb7454de185bddf34754f51d8726fac06dd2eb90e80\
        17bcab06a1f4949804d663d1322dac4c97622f1a7cf518a8d170ac05a83c8792cf0379d07c24b15e846f2b22\
        d035ea402af24ecd7c1e1ef5100f94c6f552147bdb6461",
    "326430060209fdf806da00baebae28344d00bf627b455d641181c31056901a5a614c7f84074668194798f18b\
        0d7b50b6d3414f4f60de7e864fecf482fe865b9e4ad639117eeedf6f5b9228f565213a798a53333a83c14c5c\
        6709a43a850568fb7932dadc9080",
];

// ---------------------------------------------------------------------------
// Bitstreams
// ---------------------------------------------------------------------------

/// Whether an (unpacketised) VP8 frame is a keyframe (RFC 6386 §9.1).
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.len() >= 10 && frame[0] & 1 == 0 && frame[3..6] == [0x9d, 0x01, 0x2a]
}

/// A VP9 frame's uncompressed header (VP9 bitstream spec §6.2): frame
/// marker 0b10, then the profile's two bits (and a reserved zero for
/// profile 3), show_existing_frame, frame_type (0: key frame), and for a
/// key frame the sync code 49 83 42.
pub fn vp9_is_keyframe(frame: &[u8]) -> bool {
    let Some(&b0) = frame.first() else {
        return false;
    };
    if b0 >> 6 != 0b10 {
        return false;
    }
    let profile = ((b0 >> 5) & 1) | (((b0 >> 4) & 1) << 1);
    let shift = if profile == 3 { 2 } else { 3 };
    let show_existing = (b0 >> shift) & 1;
    let frame_type = (b0 >> (shift - 1)) & 1;
    show_existing == 0 && frame_type == 0 && frame.get(1..4) == Some(&[0x49, 0x83, 0x42][..])
}

/// The NAL units of an Annex B byte stream (start codes of 3 or 4 bytes).
pub fn annexb_nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| {
            let e = s - 3;
            // A 4-byte start code's leading zero is not part of the NAL unit.
            if e > 0 && stream[e - 1] == 0 {
                e - 1
            } else {
                e
            }
        })
        .chain(std::iter::once(stream.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .map(move |(s, e)| &stream[s..e.max(s)])
}

/// Reads a LEB128 number (AV1 spec §4.10.5): (value, bytes read).
fn leb128(b: &[u8]) -> Option<(usize, usize)> {
    let mut v = 0usize;
    for (i, &x) in b.iter().enumerate().take(8) {
        v |= ((x & 0x7f) as usize) << (7 * i);
        if x & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn put_leb128(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The OBUs of an AV1 temporal unit in the low-overhead format (every OBU
/// with its size field): (obu_type, the OBU's payload).
pub fn av1_obus(tu: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < tu.len() {
        let h = tu[at];
        let header = 1 + usize::from(h & 0x04 != 0);
        if h & 0x02 == 0 {
            out.push(((h >> 3) & 0x0f, tu.get(at + header..).unwrap_or(&[])));
            break;
        }
        let Some((size, n)) = tu.get(at + header..).and_then(leb128) else {
            break;
        };
        let start = at + header + n;
        let Some(payload) = tu.get(start..start + size) else {
            break;
        };
        out.push(((h >> 3) & 0x0f, payload));
        at = start + size;
    }
    out
}

/// A temporal unit whose first frame (OBU_FRAME or OBU_FRAME_HEADER) is a
/// shown key frame: show_existing_frame 0, frame_type KEY_FRAME (0), the
/// first bits of its uncompressed header (AV1 spec §5.9.2, for sequences
/// without reduced_still_picture_header), after a sequence header.
pub fn av1_is_keyframe(tu: &[u8]) -> bool {
    let obus = av1_obus(tu);
    let sequence_header = obus.iter().position(|(t, _)| *t == 1);
    let frame = obus.iter().position(|(t, _)| *t == 6 || *t == 3);
    match (sequence_header, frame) {
        (Some(s), Some(f)) if s < f => obus[f].1.first().is_some_and(|b| b >> 5 == 0),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Depacketising
// ---------------------------------------------------------------------------

/// Reassembles one stream's frames from RTP packets, one codec's rules.
/// A frame is recorded only if every one of its packets arrived in sequence
/// from its first to the one with the marker bit; a gap drops the frame.
#[derive(Debug)]
pub struct FrameAssembler {
    codec: VideoCodec,
    /// The frame being put together; `None` between frames, and after a
    /// gap until the next frame starts.
    frame: Option<Vec<u8>>,
    last_seq: Option<u16>,
    /// The previous packet ended a frame (or none came yet).
    after_marker: bool,
    /// An AV1 OBU element that continues in the next packet.
    av1_partial: Vec<u8>,
}

impl FrameAssembler {
    pub fn new(codec: VideoCodec) -> FrameAssembler {
        FrameAssembler {
            codec,
            frame: None,
            last_seq: None,
            after_marker: true,
            av1_partial: Vec::new(),
        }
    }

    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// One packet; returns the frame it completes, if any.
    pub fn push(&mut self, seq: u16, payload: &[u8], marker: bool) -> Option<Vec<u8>> {
        let in_order = self.last_seq.is_none_or(|l| seq == l.wrapping_add(1));
        self.last_seq = Some(seq);
        if !in_order {
            self.frame = None;
        }
        let starts = match self.codec {
            VideoCodec::Vp8 => vp8_descriptor(payload).is_some_and(|(start, _)| start),
            VideoCodec::Vp9 => vp9_descriptor(payload).is_some_and(|d| d.begins_frame),
            // No start bit: a frame starts after the packet that ended the
            // previous one (and, for AV1, not inside an OBU).
            VideoCodec::H264 | VideoCodec::H265 => self.after_marker && in_order,
            VideoCodec::Av1 => {
                self.after_marker && in_order && payload.first().is_some_and(|z| z & 0x80 == 0)
            }
        };
        self.after_marker = marker;
        if starts {
            self.frame = Some(Vec::new());
            self.av1_partial.clear();
        }
        let frame = self.frame.as_mut()?;
        let ok = match self.codec {
            VideoCodec::Vp8 => {
                vp8_descriptor(payload).map(|(_, data)| frame.extend_from_slice(data))
            }
            VideoCodec::Vp9 => vp9_descriptor(payload).map(|d| frame.extend_from_slice(d.data)),
            VideoCodec::H264 => h264_payload(payload, frame),
            VideoCodec::H265 => h265_payload(payload, frame),
            VideoCodec::Av1 => av1_payload(payload, frame, &mut self.av1_partial),
        };
        if ok.is_none() {
            self.frame = None;
            return None;
        }
        if marker {
            return self.frame.take();
        }
        None
    }
}

/// Splits an RTP VP8 payload (RFC 7741 §4.2) into (start of a frame's first
/// partition, the VP8 bytes after the payload descriptor).
pub fn vp8_descriptor(payload: &[u8]) -> Option<(bool, &[u8])> {
    let b0 = *payload.first()?;
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    let mut at = 1;
    if b0 & 0x80 != 0 {
        let x = *payload.get(at)?;
        at += 1;
        if x & 0x80 != 0 {
            let pid = *payload.get(at)?;
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1;
        }
        if x & 0x30 != 0 {
            at += 1;
        }
    }
    Some((start, payload.get(at..)?))
}

/// The parts of a VP9 payload descriptor (RFC 9628 §4.2) a receiver needs.
pub struct Vp9Descriptor<'a> {
    /// B: the first packet of a frame.
    pub begins_frame: bool,
    /// E: the last packet of a frame.
    pub ends_frame: bool,
    /// The VP9 bytes after the descriptor.
    pub data: &'a [u8],
}

/// Parses the whole descriptor, flexible or not, with its scalability
/// structure, to find where the VP9 bytes begin.
pub fn vp9_descriptor(payload: &[u8]) -> Option<Vp9Descriptor<'_>> {
    let b0 = *payload.first()?;
    let (i, p, l, f, b, e, v) = (
        b0 & 0x80 != 0,
        b0 & 0x40 != 0,
        b0 & 0x20 != 0,
        b0 & 0x10 != 0,
        b0 & 0x08 != 0,
        b0 & 0x04 != 0,
        b0 & 0x02 != 0,
    );
    let mut at = 1;
    if i {
        let pid = *payload.get(at)?;
        at += if pid & 0x80 != 0 { 2 } else { 1 };
    }
    if l {
        // TID/U/SID/D, and TL0PICIDX in non-flexible mode.
        at += if f { 1 } else { 2 };
    }
    if p && f {
        // Up to three P_DIFFs, each saying whether another follows (N).
        for _ in 0..3 {
            let pdiff = *payload.get(at)?;
            at += 1;
            if pdiff & 0x01 == 0 {
                break;
            }
        }
    }
    if v {
        let ss = *payload.get(at)?;
        at += 1;
        let spatial_layers = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            at += 4 * spatial_layers;
        }
        if ss & 0x08 != 0 {
            let groups = *payload.get(at)?;
            at += 1;
            for _ in 0..groups {
                let g = *payload.get(at)?;
                at += 1 + usize::from((g >> 2) & 0x03);
            }
        }
    }
    Some(Vp9Descriptor {
        begins_frame: b,
        ends_frame: e,
        data: payload.get(at..)?,
    })
}

/// An H264 payload (RFC 6184 §5.6–5.8): a single NAL unit (types 1–23),
/// a STAP-A (24) of NAL units each after a 16-bit size, or an FU-A (28)
/// fragment; NAL units are appended with 4-byte start codes.
fn h264_payload(payload: &[u8], frame: &mut Vec<u8>) -> Option<()> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let header = *payload.first()?;
    match header & 0x1f {
        1..=23 => {
            frame.extend_from_slice(&START);
            frame.extend_from_slice(payload);
        }
        24 => {
            let mut rest = &payload[1..];
            while !rest.is_empty() {
                let size = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
                let nal = rest.get(2..2 + size)?;
                frame.extend_from_slice(&START);
                frame.extend_from_slice(nal);
                rest = &rest[2 + size..];
            }
        }
        28 => {
            let fu = *payload.get(1)?;
            if fu & 0x80 != 0 {
                frame.extend_from_slice(&START);
                frame.push((header & 0xe0) | (fu & 0x1f));
            } else if frame.is_empty() {
                // A fragment whose start is missing.
                return None;
            }
            frame.extend_from_slice(payload.get(2..)?);
        }
        // STAP-B, MTAP, FU-B: not in packetization mode 1 as WebRTC uses it.
        _ => return None,
    }
    Some(())
}

/// An H265 payload (RFC 7798 §4.4, without DONL as
/// `sprop-max-don-diff` is 0): a single NAL unit, an aggregation packet
/// (type 48) of NAL units each after a 16-bit size, or a fragmentation
/// unit (49) whose FU header carries S, E and the NAL unit's type; NAL
/// units are appended with 4-byte start codes.
fn h265_payload(payload: &[u8], frame: &mut Vec<u8>) -> Option<()> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let (h0, h1) = (*payload.first()?, *payload.get(1)?);
    match (h0 >> 1) & 0x3f {
        0..=47 => {
            frame.extend_from_slice(&START);
            frame.extend_from_slice(payload);
        }
        48 => {
            let mut rest = &payload[2..];
            while !rest.is_empty() {
                let size = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
                let nal = rest.get(2..2 + size)?;
                frame.extend_from_slice(&START);
                frame.extend_from_slice(nal);
                rest = &rest[2 + size..];
            }
        }
        49 => {
            let fu = *payload.get(2)?;
            if fu & 0x80 != 0 {
                frame.extend_from_slice(&START);
                // The payload header with the fragmented NAL unit's type.
                frame.push((h0 & 0x81) | ((fu & 0x3f) << 1));
                frame.push(h1);
            } else if frame.is_empty() {
                return None;
            }
            frame.extend_from_slice(payload.get(3..)?);
        }
        // PACI (50) and reserved types: not sent by webrtc-rs.
        _ => return None,
    }
    Some(())
}

/// An AV1 payload (AV1 RTP spec §4.4–4.5): the aggregation header
/// Z|Y|W|N, then OBU elements, each after a LEB128 length except the last
/// when W says how many there are. Z: the first element continues the last
/// one of the previous packet; Y: the last one continues in the next. Each
/// whole OBU is appended with its size field (the low-overhead format).
fn av1_payload(payload: &[u8], frame: &mut Vec<u8>, partial: &mut Vec<u8>) -> Option<()> {
    let agg = *payload.first()?;
    let (z, y, w) = (
        agg & 0x80 != 0,
        agg & 0x40 != 0,
        usize::from((agg >> 4) & 0x03),
    );
    if z == partial.is_empty() {
        // A continuation without its start, or a start we did not expect.
        return None;
    }
    let mut rest = &payload[1..];
    let mut elements = Vec::new();
    let mut n = 0;
    while !rest.is_empty() {
        n += 1;
        let len = if w != 0 && n == w {
            rest.len()
        } else {
            let (len, read) = leb128(rest)?;
            rest = &rest[read..];
            len
        };
        elements.push(rest.get(..len)?);
        rest = &rest[len..];
    }
    let count = elements.len();
    for (k, el) in elements.into_iter().enumerate() {
        partial.extend_from_slice(el);
        if k + 1 == count && y {
            break;
        }
        let obu = std::mem::take(partial);
        let h = *obu.first()?;
        let header = 1 + usize::from(h & 0x04 != 0);
        frame.push(h | 0x02);
        frame.extend_from_slice(obu.get(1..header)?);
        put_leb128(frame, obu.len() - header);
        frame.extend_from_slice(&obu[header..]);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [VideoCodec; 5] = [
        VideoCodec::Vp8,
        VideoCodec::H264,
        VideoCodec::H265,
        VideoCodec::Vp9,
        VideoCodec::Av1,
    ];

    #[test]
    fn each_clip_is_a_keyframe_then_interframes() {
        for c in ALL {
            let clip = c.clip();
            assert!(c.is_keyframe(&clip[0]), "{c:?} frame 0");
            for (i, f) in clip.iter().enumerate().skip(1) {
                assert!(!c.is_keyframe(f), "{c:?} frame {i}");
            }
        }
    }

    #[test]
    fn the_prepared_vp8_clip_is_32x32() {
        let k = hex(VP8_KEYFRAME);
        assert_eq!(u16::from_le_bytes([k[6], k[7]]) & 0x3fff, 32);
        assert_eq!(u16::from_le_bytes([k[8], k[9]]) & 0x3fff, 32);
    }

    #[test]
    fn the_keyframes_take_more_than_one_packet() {
        // webrtc-rs packetises at 1200 bytes: FU-A, several VP9 packets and
        // fragmented AV1 OBUs are all exercised.
        for c in [
            VideoCodec::H264,
            VideoCodec::H265,
            VideoCodec::Vp9,
            VideoCodec::Av1,
        ] {
            assert!(c.clip()[0].len() > 1200, "{c:?}");
        }
    }

    #[test]
    fn the_h264_keyframe_is_sps_pps_idr_constrained_baseline() {
        let k = hex(H264_KEYFRAME);
        let types: Vec<u8> = annexb_nal_units(&k).map(|n| n[0] & 0x1f).collect();
        assert_eq!(types, vec![7, 8, 5]);
        let sps = annexb_nal_units(&k).next().unwrap();
        // profile_idc 66 with constraint_set1: Constrained Baseline; level 3.1.
        assert_eq!((sps[1], sps[2] & 0x40, sps[3]), (66, 0x40, 31));
    }

    #[test]
    fn the_h265_keyframe_is_vps_sps_pps_idr() {
        let k = hex(H265_KEYFRAME);
        let types: Vec<u8> = annexb_nal_units(&k).map(|n| (n[0] >> 1) & 0x3f).collect();
        assert_eq!(types, vec![32, 33, 34, 20]);
    }

    #[test]
    fn the_av1_temporal_units_have_no_temporal_delimiter() {
        for f in VideoCodec::Av1.clip() {
            let types: Vec<u8> = av1_obus(&f).iter().map(|(t, _)| *t).collect();
            assert!(!types.contains(&2), "{types:?}");
            // Every byte belongs to an OBU with a size field.
            let total: usize = av1_obus(&f).iter().map(|(_, p)| p.len()).sum();
            assert!(total < f.len());
        }
    }

    /// Packetises with webrtc-rs and depacketises with ours: the frames come
    /// back byte for byte.
    #[test]
    fn webrtc_rs_packets_reassemble_into_the_same_frames() {
        for c in ALL {
            let mut payloader = c.rtp_codec().payloader().expect("a payloader");
            let mut asm = FrameAssembler::new(c);
            let mut seq = 65_530u16;
            for (i, frame) in c.clip().iter().enumerate() {
                let payloads = payloader
                    .payload(1200, &bytes::Bytes::from(frame.clone()))
                    .expect("packetises");
                let mut out = None;
                for (k, p) in payloads.iter().enumerate() {
                    out = asm.push(seq, p, k + 1 == payloads.len());
                    seq = seq.wrapping_add(1);
                }
                assert_eq!(out.as_ref(), Some(frame), "{c:?} frame {i}");
            }
        }
    }

    #[test]
    fn a_gap_drops_the_frame_it_falls_in() {
        let c = VideoCodec::H264;
        let mut payloader = c.rtp_codec().payloader().expect("a payloader");
        let clip = c.clip();
        let key = payloader
            .payload(1200, &bytes::Bytes::from(clip[0].clone()))
            .unwrap();
        assert!(key.len() >= 3);
        let mut asm = FrameAssembler::new(c);
        // The keyframe's second packet is lost.
        assert_eq!(asm.push(1, &key[0], false), None);
        for (k, p) in key.iter().enumerate().skip(2) {
            assert_eq!(asm.push(k as u16 + 1, p, k + 1 == key.len()), None);
        }
        // The next frame arrives whole.
        let next = payloader
            .payload(1200, &bytes::Bytes::from(clip[1].clone()))
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(
            asm.push(key.len() as u16 + 1, &next[0], true),
            Some(clip[1].clone())
        );
    }
}
