#!/usr/bin/env python3
"""Patch a mediasoup 3.19.x worker/ tree (inside node_modules) so that it
builds against Debian bookworm system libraries instead of meson wraps:

  openssl   -> libssl-dev        (pkg-config openssl)
  libuv     -> libuv1-dev        (pkg-config libuv)
  libsrtp3  -> libsrtp2-dev      (pkg-config libsrtp2) + small libsrtp3-API shim
  usrsctp   -> libusrsctp-dev    (pkg-config usrsctp)
  abseil    -> libabsl-dev       (pkg-config absl_*)
  flatbuffers -> libflatbuffers-dev + flatbuffers-compiler (flatc 2.0.8;
                 C++ code is regenerated at build time by the system flatc, so
                 the generated-code static_assert matches the 2.0.8 headers)
  catch2    -> not used (tests are not built)
  liburing  -> disabled (-Dms_disable_liburing=true)
  + DtlsTransport.cpp BIO-callback fix needed with Debian's kTLS-enabled libssl

Usage: python3 patch-mediasoup-worker.py <build dir>/worker
Idempotent: meson.build edits are applied once; the shim is (re)written.
"""
import os
import re
import textwrap
import sys

worker = sys.argv[1]
mb_path = os.path.join(worker, 'meson.build')
mb = open(mb_path).read()

already = 'SYSDEPS-PATCHED' in mb

def patch_meson(mb):
    # 1. Debian bookworm ships meson 1.0.1; mediasoup asks for >= 1.1.0 but does
    #    not need any 1.1 feature.
    mb = mb.replace("meson_version: '>= 1.1.0'", "meson_version: '>= 1.0.0'")

    # 2. Replace every `xxx_proj = subproject(...)` block (top level, multi-line)
    #    except wingetopt / liburing (guarded by platform conditions) with nothing,
    #    and insert system dependency definitions before the first one.
    sysdeps = textwrap.dedent("""
    # SYSDEPS-PATCHED: system (Debian) dependencies instead of meson subprojects.
    sysdep_openssl_dep = dependency('openssl', version: '>= 3.0')
    sysdep_libuv_dep = dependency('libuv', version: '>= 1.44')
    sysdep_libsrtp3_dep = declare_dependency(
      dependencies: dependency('libsrtp2', version: '>= 2.5'),
      include_directories: include_directories('compat-srtp2'),
    )
    sysdep_usrsctp_dep = dependency('usrsctp')
    sysdep_flatbuffers_dep = dependency('flatbuffers')
    sysdep_absl_container_dep = declare_dependency(dependencies: [
      dependency('absl_flat_hash_map'),
      dependency('absl_flat_hash_set'),
      dependency('absl_btree'),
      dependency('absl_inlined_vector'),
      dependency('absl_memory'),
    ])
    sysdep_absl_strings_dep = dependency('absl_strings')
    sysdep_absl_types_dep = declare_dependency(dependencies: [
      dependency('absl_optional'),
      dependency('absl_variant'),
    ])
    sysdep_catch2_dep = declare_dependency()
    # Static libs are no longer built in-tree; only used by the (not built by
    # default) libmediasoup-worker target's link_whole.
    sysdep_libcrypto_lib = []
    sysdep_libssl_lib = []
    sysdep_libuv = []
    sysdep_libsrtp3 = []
    sysdep_usrsctp = []
    sysdep_flatbuffers_lib = []
    sysdep_absl_container_lib = []
    """)

    block_re = re.compile(
        r"^(?P<name>openssl|libuv|libsrtp3|usrsctp|abseil_cpp|catch2|flatbuffers)_proj = subproject\(\n.*?^\)\n",
        re.S | re.M)
    first = block_re.search(mb)
    if not first:
        sys.exit('no subproject() blocks found: unsupported meson.build layout')
    mb = mb[:first.start()] + sysdeps + block_re.sub('', mb[first.start():])

    # 3. proj.get_variable('x') -> sysdep_x
    getvar_re = re.compile(r"\b(?:openssl|libuv|libsrtp3|usrsctp|abseil_cpp|catch2|flatbuffers)_proj\.get_variable\('(\w+)'\)")
    mb = getvar_re.sub(lambda m: 'sysdep_' + m.group(1), mb)
    open(mb_path, 'w').write(mb)

    lw_path = os.path.join(worker, 'deps', 'libwebrtc', 'meson.build')
    lw = open(lw_path).read()
    lw = block_re.sub('', lw)
    lw = getvar_re.sub(lambda m: 'sysdep_' + m.group(1), lw)
    open(lw_path, 'w').write(lw)

    left = re.findall(r"\w+_proj\.get_variable|\w+_proj = subproject", mb + lw)
    left = [x for x in left if not x.startswith(('wingetopt', 'liburing'))]
    if left:
        sys.exit('unpatched get_variable uses remain: %r' % left)



if not already:
    patch_meson(mb)
else:
    print('meson.build already patched; refreshing shim only')

# 3b. Debian's libssl3 is built WITH kTLS support (mediasoup's bundled OpenSSL
#     is not). mediasoup's BIO callback returns 1 for every BIO_CB_RETURN|ctrl
#     callback, so BIO_get_ktls_send() on the outgoing mem BIO reports "kTLS on",
#     libssl then allocates no record write buffer and the worker SIGSEGVs in
#     do_dtls1_write() at the first DTLS handshake (ServerHello). Return the real
#     result for every *_RETURN callback instead.
dt_path = os.path.join(worker, 'src', 'RTC', 'DtlsTransport.cpp')
dt = open(dt_path).read()
old_cb = 'long resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;'
new_cb = 'long resultOfcallback = (operationType & BIO_CB_RETURN) ? static_cast<long>(ret) : 1; // KTLS-FIX'
if 'KTLS-FIX' not in dt:
    if old_cb not in dt:
        sys.exit('DtlsTransport.cpp: BIO callback line not found; check kTLS issue by hand')
    open(dt_path, 'w').write(dt.replace(old_cb, new_cb))

# 4. libsrtp3-style API (mediasoup >= 3.16) on top of Debian's libsrtp 2.5.0.
#    mediasoup does `#include <srtp.h>`; libsrtp2-dev installs <srtp2/srtp.h>
#    and its .pc adds no -I, so this shim is the only <srtp.h> on the path.
os.makedirs(os.path.join(worker, 'compat-srtp2'), exist_ok=True)
open(os.path.join(worker, 'compat-srtp2', 'srtp.h'), 'w').write(r'''// libsrtp3 API shim over libsrtp 2.x (generated by patch-worker.py)
#ifndef MS_COMPAT_SRTP2_SRTP_H
#define MS_COMPAT_SRTP2_SRTP_H
#include <srtp2/srtp.h>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <climits>

// Error codes that exist only in libsrtp 3.
#define srtp_err_status_buffer_small static_cast<srtp_err_status_t>(28)
#define srtp_err_status_cryptex_err static_cast<srtp_err_status_t>(29)

namespace ms_srtp2_compat
{
	using fn_t = srtp_err_status_t (*)(srtp_t, void*, int*);

	inline srtp_err_status_t Run(
	  fn_t fn, srtp_t ctx, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t extra)
	{
		if (inLen > static_cast<size_t>(INT_MAX) - extra || inLen + extra > *outLen)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);
		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = fn(ctx, static_cast<void*>(out), &len);
		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);
		return err;
	}
} // namespace ms_srtp2_compat

// C++ overloads with the libsrtp 3 signatures (the C functions keep theirs).
inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}
inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t /*mkiIndex*/)
{
	return ms_srtp2_compat::Run(::srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN);
}
inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return ms_srtp2_compat::Run(::srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
}
inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t /*mkiIndex*/)
{
	return ms_srtp2_compat::Run(
	  ::srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TRAILER_LEN + 4);
}
inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return ms_srtp2_compat::Run(::srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}
#endif
''')
print('patched', worker)
