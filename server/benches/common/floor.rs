//! What the machine can do at all: the fan-out floor on loopback.
//!
//! N TCP connections; this process writes one 64-byte message to each of
//! them from two threads (no runtime, no framing: a `write` per socket), and
//! a child process (this binary with [`FLAG`]) reads them with one epoll
//! thread and notes how long after the round's start each arrived. It is
//! the least any server could take to reach N clients on this machine with
//! the clients on it too, against which Hale's fan-out figure is read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The flag a benchmark binary recognises to become the floor's reader.
pub const FLAG: &str = "--loopback-reader";

const MESSAGE: usize = 64;

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// Delivery delays of `rounds` rounds to `clients` connections, sorted, in
/// microseconds.
pub fn measure(clients: usize, rounds: usize) -> Vec<u64> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            FLAG,
            &addr.to_string(),
            &clients.to_string(),
            &rounds.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the floor's reader");
    let mut sockets: Vec<TcpStream> = (0..clients)
        .map(|_| {
            let (socket, _) = listener.accept().unwrap();
            socket.set_nodelay(true).unwrap();
            socket
        })
        .collect();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let half = clients / 2;
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(400));
        let mut message = [b'x'; MESSAGE];
        message[..8].copy_from_slice(&now_micros().to_le_bytes());
        let (left, right) = sockets.split_at_mut(half);
        std::thread::scope(|scope| {
            for part in [left, right] {
                scope.spawn(move || {
                    for socket in part {
                        socket.write_all(&message).unwrap();
                    }
                });
            }
        });
    }
    let delays: Vec<u64> = lines
        .next()
        .unwrap()
        .unwrap()
        .split(',')
        .map(|d| d.parse().unwrap())
        .collect();
    child.wait().unwrap();
    assert_eq!(delays.len(), clients * rounds, "every message read");
    delays
}

/// The reader: connects, reads every round with one epoll thread, and
/// prints the delays, sorted.
pub fn read_forever() {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == FLAG).unwrap();
    let addr = &args[at + 1];
    let clients: usize = args[at + 2].parse().unwrap();
    let rounds: usize = args[at + 3].parse().unwrap();
    super::measure::raise_fd_limit();
    let mut sockets: Vec<TcpStream> = (0..clients)
        .map(|_| TcpStream::connect(addr.as_str()).unwrap())
        .collect();
    // SAFETY: plain epoll calls on descriptors this process owns.
    let epoll = unsafe { libc::epoll_create1(0) };
    assert!(epoll >= 0);
    for (i, socket) in sockets.iter().enumerate() {
        socket.set_nonblocking(true).unwrap();
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        let added =
            unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, socket.as_raw_fd(), &mut event) };
        assert_eq!(added, 0);
    }
    println!("ready");
    let mut delays = Vec::with_capacity(clients * rounds);
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut buffer = [0u8; 4096];
    while delays.len() < clients * rounds {
        let ready = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), 256, -1) };
        for event in &events[..ready.max(0) as usize] {
            let socket = &mut sockets[event.u64 as usize];
            while let Ok(n) = socket.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let arrived = now_micros();
                for message in buffer[..n].chunks_exact(MESSAGE) {
                    let sent = u64::from_le_bytes(message[..8].try_into().unwrap());
                    delays.push(arrived.saturating_sub(sent));
                }
            }
        }
    }
    delays.sort_unstable();
    let line: Vec<String> = delays.iter().map(u64::to_string).collect();
    println!("{}", line.join(","));
}
