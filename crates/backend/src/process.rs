//! Child processes that die with the stack: on Linux a child asks the kernel for a signal
//! when the thread that started it ends (a `kill -9` of the backend included), so no
//! PostgreSQL or PostgREST is left orphaned.

use std::io;

/// Makes the child receive `signal` when its parent goes away. Call from a thread that
/// lives as long as the child should (the kernel watches the thread, not the process).
pub fn die_with_parent(command: &mut std::process::Command, signal: i32) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (prctl, getppid).
    unsafe {
        command.pre_exec(move || set_parent_death_signal(signal, parent));
    }
}

/// The same for a tokio command.
pub fn die_with_parent_async(command: &mut tokio::process::Command, signal: i32) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: as above.
    unsafe {
        command.pre_exec(move || set_parent_death_signal(signal, parent));
    }
}

fn set_parent_death_signal(signal: i32, parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: plain system calls with valid arguments.
    let result = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    // The parent may have died between fork and prctl: then nobody would signal us.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::other("the backend exited while starting this process"));
    }
    Ok(())
}

/// Sends `signal` to a process.
pub fn signal(pid: u32, signal: i32) -> io::Result<()> {
    // SAFETY: kill with a pid we started; a gone process gives ESRCH, reported as an error.
    if unsafe { libc::kill(pid as libc::pid_t, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The uid and gid of a local user, from /etc/passwd.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_in_passwd() {
        assert_eq!(user_ids("root"), Some((0, 0)));
        assert_eq!(user_ids("no-such-user-here"), None);
    }

    #[test]
    fn a_child_dies_when_its_parent_thread_ends() {
        let pid = std::thread::spawn(|| {
            let mut command = std::process::Command::new("sleep");
            command.arg("60");
            die_with_parent(&mut command, libc::SIGKILL);
            let child = command.spawn().expect("spawn sleep");
            let pid = child.id();
            // Leak the handle: the thread ends with the child still running.
            std::mem::forget(child);
            pid
        })
        .join()
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for this process to reap it.
            if stat.is_empty() || stat.split(' ').nth(2) == Some("Z") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "child outlived its parent thread: {stat}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
