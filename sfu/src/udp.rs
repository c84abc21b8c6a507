//! The worker's UDP socket with batched system calls.
//!
//! An SFU sends each incoming packet to many subscribers, each at its own
//! address. Generic segmentation offload (what `quinn-udp` batches) only
//! joins datagrams for *one* destination, so it does nothing for fan-out;
//! `sendmmsg` hands the kernel up to [`SEND_BATCH`] datagrams for different
//! destinations in one call. On the way in, `recvmmsg` takes whatever has
//! queued up in one call. Elsewhere than Linux the same interface falls back
//! to one call per datagram.
//!
//! The socket is non-blocking; [`BatchSocket::wait`] sleeps until it is
//! readable or a deadline passes, with microsecond resolution (str0m's
//! timers, and the pacing of the packets it sends, are finer than the
//! millisecond `poll` offers).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// Datagrams taken from the kernel per receive call.
pub const RECV_BATCH: usize = 32;
/// Datagrams queued before they are flushed in one send call.
pub const SEND_BATCH: usize = 64;
/// Larger than any datagram WebRTC sends (MTU-sized; DTLS and STUN less).
const DATAGRAM: usize = 2048;
/// Kernel buffer we ask for on each side of the socket. The default
/// (about 200 KiB, some 250 small datagrams once the kernel's per-packet
/// overhead is counted) overflows when the worker is not scheduled for a
/// few tens of milliseconds under load: 8 MiB holds about a second of a
/// busy worker's traffic.
const SOCKET_BUFFER: usize = 8 << 20;

pub struct BatchSocket {
    socket: UdpSocket,
    recv: RecvBuffers,
    /// Datagrams waiting to be sent: destination and contents.
    queued: Vec<(SocketAddr, Vec<u8>)>,
    /// Spare buffers of sent datagrams, reused for the next ones.
    spare: Vec<Vec<u8>>,
}

/// What a flush did: datagrams handed to the kernel, and those it refused
/// (a peer gone away shows up as an ICMP error on the next send).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub sent: usize,
    pub failed: usize,
}

impl BatchSocket {
    pub fn new(socket: UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        #[cfg(target_os = "linux")]
        linux::grow_buffers(&socket);
        Ok(BatchSocket {
            socket,
            recv: RecvBuffers::new(),
            queued: Vec::with_capacity(SEND_BATCH),
            spare: Vec::new(),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Queues a datagram; sends the queue once it holds a full batch.
    pub fn queue(&mut self, destination: SocketAddr, contents: &[u8]) -> Flushed {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(contents);
        self.queued.push((destination, buf));
        if self.queued.len() >= SEND_BATCH {
            self.flush()
        } else {
            Flushed::default()
        }
    }

    /// Sends everything queued. A datagram the kernel will not take now
    /// (buffer full, peer unreachable) is dropped, as the network would.
    pub fn flush(&mut self) -> Flushed {
        let mut done = Flushed::default();
        let mut from = 0;
        while from < self.queued.len() {
            match send_batch(&self.socket, &self.queued[from..]) {
                Ok(0) => {
                    // Nothing went: skip the head so the loop ends.
                    done.failed += 1;
                    from += 1;
                }
                Ok(n) => {
                    done.sent += n;
                    from += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // The call failed on the head datagram; the rest may go.
                    done.failed += 1;
                    from += 1;
                }
            }
        }
        self.spare
            .extend(self.queued.drain(..).map(|(_, buf)| buf).take(SEND_BATCH));
        done
    }

    /// Blocks until the socket is readable or `timeout` has passed.
    pub fn wait(&self, timeout: Duration) {
        wait_readable(&self.socket, timeout);
    }

    /// Takes the datagrams that have arrived, without blocking, and hands
    /// each to `each` (source, contents). Returns how many there were.
    pub fn receive(&mut self, mut each: impl FnMut(&mut Self, SocketAddr, &[u8])) -> usize {
        let n = match self.recv.receive(&self.socket) {
            Ok(n) => n,
            Err(e) => {
                // ICMP errors from a peer that went away show up here on Linux.
                if !matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) {
                    tracing::debug!(error = %e, "sfu socket receive error");
                }
                return 0;
            }
        };
        // The buffers are taken out while `each` may queue sends on `self`.
        let recv = std::mem::replace(&mut self.recv, RecvBuffers::empty());
        for i in 0..n {
            let (source, data) = recv.datagram(i);
            if let Some(source) = source {
                each(self, source, data);
            }
        }
        self.recv = recv;
        n
    }
}

#[cfg(target_os = "linux")]
use linux::{send_batch, wait_readable, RecvBuffers};
#[cfg(not(target_os = "linux"))]
use portable::{send_batch, wait_readable, RecvBuffers};

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::os::fd::AsRawFd;

    pub struct RecvBuffers {
        data: Vec<[u8; DATAGRAM]>,
        addrs: Vec<libc::sockaddr_storage>,
        lens: Vec<usize>,
    }

    impl RecvBuffers {
        pub fn new() -> Self {
            // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
            let zero: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            RecvBuffers {
                data: vec![[0; DATAGRAM]; RECV_BATCH],
                addrs: vec![zero; RECV_BATCH],
                lens: vec![0; RECV_BATCH],
            }
        }

        pub fn empty() -> Self {
            RecvBuffers {
                data: Vec::new(),
                addrs: Vec::new(),
                lens: Vec::new(),
            }
        }

        pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
            let mut iovs: Vec<libc::iovec> = self
                .data
                .iter_mut()
                .map(|d| libc::iovec {
                    iov_base: d.as_mut_ptr().cast(),
                    iov_len: d.len(),
                })
                .collect();
            // SAFETY: mmsghdr is plain old data; the pointers are set below.
            let mut msgs: Vec<libc::mmsghdr> = (0..RECV_BATCH)
                .map(|_| unsafe { std::mem::zeroed() })
                .collect();
            for (i, m) in msgs.iter_mut().enumerate() {
                m.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
                m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
                m.msg_hdr.msg_iov = &mut iovs[i];
                m.msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: every header points into buffers that outlive the call,
            // with their true lengths.
            let n = unsafe {
                libc::recvmmsg(
                    socket.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    RECV_BATCH as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            for (len, m) in self.lens.iter_mut().zip(&msgs).take(n) {
                // A datagram larger than the buffer is cut; str0m rejects it.
                *len = (m.msg_len as usize).min(DATAGRAM);
            }
            Ok(n)
        }

        pub fn datagram(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
            (
                to_socket_addr(&self.addrs[i]),
                &self.data[i][..self.lens[i]],
            )
        }
    }

    fn to_socket_addr(a: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match a.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the family says this storage holds a sockaddr_in.
                let v4: &libc::sockaddr_in = unsafe { &*(a as *const _ as *const _) };
                let ip = std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
                Some(SocketAddr::new(ip.into(), u16::from_be(v4.sin_port)))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says this storage holds a sockaddr_in6.
                let v6: &libc::sockaddr_in6 = unsafe { &*(a as *const _ as *const _) };
                let ip = std::net::Ipv6Addr::from(v6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                    ip,
                    u16::from_be(v6.sin6_port),
                    v6.sin6_flowinfo,
                    v6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    fn to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
        // SAFETY: all-zero is a valid sockaddr_storage.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large enough for sockaddr_in.
                let sin: &mut libc::sockaddr_in =
                    unsafe { &mut *(&mut storage as *mut _ as *mut _) };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
                std::mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                // SAFETY: sockaddr_storage is large enough for sockaddr_in6.
                let sin6: &mut libc::sockaddr_in6 =
                    unsafe { &mut *(&mut storage as *mut _ as *mut _) };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr.s6_addr = a.ip().octets();
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_scope_id = a.scope_id();
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        (storage, len as libc::socklen_t)
    }

    /// Sends as many of `datagrams` as the kernel takes in one call.
    pub fn send_batch(
        socket: &UdpSocket,
        datagrams: &[(SocketAddr, Vec<u8>)],
    ) -> io::Result<usize> {
        let batch = &datagrams[..datagrams.len().min(SEND_BATCH)];
        let mut addrs: Vec<(libc::sockaddr_storage, libc::socklen_t)> =
            batch.iter().map(|(a, _)| to_sockaddr(a)).collect();
        let mut iovs: Vec<libc::iovec> = batch
            .iter()
            .map(|(_, d)| libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            })
            .collect();
        // SAFETY: mmsghdr is plain old data; the pointers are set below.
        let mut msgs: Vec<libc::mmsghdr> = (0..batch.len())
            .map(|_| unsafe { std::mem::zeroed() })
            .collect();
        for (i, m) in msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_name = (&mut addrs[i].0 as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen = addrs[i].1;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: the headers point into `addrs`, `iovs` and `datagrams`,
        // which outlive the call; the kernel only reads the payloads.
        let n = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                msgs.len() as u32,
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Asks for [`SOCKET_BUFFER`] each way: with `SO_RCVBUFFORCE` where the
    /// process may (it passes `net.core.rmem_max`), else `SO_RCVBUF`, which
    /// the kernel caps; says so when it got less.
    pub fn grow_buffers(socket: &UdpSocket) {
        let fd = socket.as_raw_fd();
        let set = |option: libc::c_int, size: usize| -> bool {
            let value = size as libc::c_int;
            // SAFETY: a valid socket, an int option and its size.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    option,
                    (&value as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                ) == 0
            }
        };
        let get = |option: libc::c_int| -> usize {
            let mut value: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: a valid socket and room for an int.
            unsafe {
                libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    option,
                    (&mut value as *mut libc::c_int).cast(),
                    &mut len,
                );
            }
            // The kernel reports twice what was asked (its bookkeeping).
            value.max(0) as usize / 2
        };
        for (force, plain, get_opt, name) in [
            (
                libc::SO_RCVBUFFORCE,
                libc::SO_RCVBUF,
                libc::SO_RCVBUF,
                "receive",
            ),
            (
                libc::SO_SNDBUFFORCE,
                libc::SO_SNDBUF,
                libc::SO_SNDBUF,
                "send",
            ),
        ] {
            if !set(force, SOCKET_BUFFER) {
                set(plain, SOCKET_BUFFER);
            }
            let got = get(get_opt);
            if got < SOCKET_BUFFER {
                tracing::warn!(
                    wanted = SOCKET_BUFFER,
                    got,
                    "the media socket's {name} buffer is smaller than asked: raise net.core.{}mem_max (or run with CAP_NET_ADMIN) so bursts are not dropped",
                    if name == "receive" { "r" } else { "w" }
                );
            }
        }
    }

    pub fn wait_readable(socket: &UdpSocket, timeout: Duration) {
        let mut fds = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: one valid pollfd and a valid timespec; no signal mask.
        unsafe {
            libc::ppoll(&mut fds, 1, &ts, std::ptr::null());
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod portable {
    use super::*;

    pub struct RecvBuffers {
        data: Vec<[u8; DATAGRAM]>,
        got: Vec<(SocketAddr, usize)>,
    }

    impl RecvBuffers {
        pub fn new() -> Self {
            RecvBuffers {
                data: vec![[0; DATAGRAM]; RECV_BATCH],
                got: Vec::with_capacity(RECV_BATCH),
            }
        }

        pub fn empty() -> Self {
            RecvBuffers {
                data: Vec::new(),
                got: Vec::new(),
            }
        }

        pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
            self.got.clear();
            for buf in self.data.iter_mut() {
                match socket.recv_from(buf) {
                    Ok((n, source)) => self.got.push((source, n)),
                    Err(e) if self.got.is_empty() => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(self.got.len())
        }

        pub fn datagram(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
            let (source, n) = self.got[i];
            (Some(source), &self.data[i][..n])
        }
    }

    pub fn send_batch(
        socket: &UdpSocket,
        datagrams: &[(SocketAddr, Vec<u8>)],
    ) -> io::Result<usize> {
        let (to, data) = &datagrams[0];
        socket.send_to(data, to).map(|_| 1)
    }

    pub fn wait_readable(socket: &UdpSocket, timeout: Duration) {
        // Without poll: a blocking peek with a timeout, then back to
        // non-blocking for the receive that follows.
        let _ = socket.set_nonblocking(false);
        let _ = socket.set_read_timeout(Some(timeout.max(Duration::from_micros(1))));
        let _ = socket.peek_from(&mut [0u8; 1]);
        let _ = socket.set_nonblocking(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn pair() -> (BatchSocket, UdpSocket) {
        let server = BatchSocket::new(UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (server, peer)
    }

    #[test]
    fn a_batch_of_datagrams_comes_in_with_sources_and_contents_intact() {
        let (mut server, peer) = pair();
        let to = server.local_addr().unwrap();
        for i in 0..(RECV_BATCH as u8 + 5) {
            peer.send_to(&[i; 3], to).unwrap();
        }
        server.wait(Duration::from_secs(5));
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.len() < RECV_BATCH + 5 && Instant::now() < deadline {
            server.receive(|_, source, data| got.push((source, data.to_vec())));
        }
        let me = peer.local_addr().unwrap();
        assert_eq!(got.len(), RECV_BATCH + 5);
        for (i, (source, data)) in got.iter().enumerate() {
            assert_eq!(*source, me);
            assert_eq!(data, &vec![i as u8; 3], "in order, whole");
        }
    }

    #[test]
    fn queued_datagrams_reach_each_destination_once_flushed() {
        let (mut server, peer) = pair();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        other
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (a, b) = (peer.local_addr().unwrap(), other.local_addr().unwrap());
        let mut sent = 0;
        for i in 0..(SEND_BATCH + 10) {
            sent += server
                .queue(if i % 2 == 0 { a } else { b }, &[i as u8])
                .sent;
        }
        assert_eq!(sent, SEND_BATCH, "a full batch goes by itself");
        assert_eq!(server.flush().sent, 10);
        let mut buf = [0u8; 16];
        for i in (0..SEND_BATCH + 10).step_by(2) {
            let (n, _) = peer.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i as u8]);
            let (n, _) = other.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i as u8 + 1]);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_receive_buffer_is_grown_where_the_process_may() {
        use std::os::fd::AsRawFd;
        let (server, _peer) = pair();
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a valid socket and room for an int.
        unsafe {
            libc::getsockopt(
                server.socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            );
        }
        let max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        // Root gets what it asked for; anyone else at least the system's cap.
        let floor = SOCKET_BUFFER.min(max.max(1));
        assert!(value as usize / 2 >= floor, "{value} for {floor}");
    }

    #[test]
    fn waiting_ends_at_the_deadline_when_nothing_arrives() {
        let (mut server, _peer) = pair();
        server.wait(Duration::from_millis(5));
        assert_eq!(server.receive(|_, _, _| {}), 0);
    }
}
