//! Only regular files and directories can be opened through a directory
//! grant: FIFOs, devices and sockets are refused before anything opens them.
//!
//! wasmtime-wasi opens files itself (on a blocking thread, without
//! `O_NONBLOCK`) and has no hook for the file type, so opening a FIFO that
//! nobody writes would block that thread forever. This module shadows
//! `wasi:filesystem/types.[method]descriptor.open-at` in the linker: it first
//! stats the path through wasmtime-wasi's own sandboxed lookup (a stat opens
//! nothing and never blocks) and answers `access` for anything that is not a
//! regular file, a directory or a symbolic link (which the open then resolves
//! or refuses itself); then it hands the call to wasmtime-wasi's `open-at`.
//!
//! What this does not cover: a FIFO that already exists inside a read-write
//! grant could be renamed over a regular file by a second, concurrent call of
//! the same plugin between the stat and the open. A plugin cannot create a
//! FIFO, so this needs one put into its directory from outside.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemCtxView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, HostDescriptor, OpenFlags, PathFlags,
};
use wasmtime_wasi::WasiView;

use crate::state::StoreState;

/// The WASI filesystem interface whose `open-at` is shadowed (the version
/// wasmtime-wasi's `add_to_linker_async` defines).
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Replaces `open-at` in `linker` (after WASI was added to it) by the checked one.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let defined = linker.instance(FILESYSTEM_TYPES).and_then(|mut types| {
        types.func_wrap_async(
            "[method]descriptor.open-at",
            |mut store, (fd, path_flags, path, oflags, flags): (Resource<Descriptor>, PathFlags, String, OpenFlags, DescriptorFlags)| {
                Box::new(async move {
                    let view = store.data_mut().ctx();
                    let mut fs = WasiFilesystemCtxView { ctx: view.ctx.filesystem(), table: view.table };
                    Ok((open_at(&mut fs, fd, path_flags, path, oflags, flags).await?,))
                })
            },
        )
    });
    linker.allow_shadowing(false);
    defined
}

/// `open-at` that refuses non-regular files: the outer error traps, the inner
/// one is what the guest sees.
async fn open_at(
    fs: &mut WasiFilesystemCtxView<'_>,
    fd: Resource<Descriptor>,
    path_flags: PathFlags,
    path: String,
    oflags: OpenFlags,
    flags: DescriptorFlags,
) -> wasmtime::Result<Result<Resource<Descriptor>, ErrorCode>> {
    let again = Resource::<Descriptor>::new_borrow(fd.rep());
    match fs.stat_at(again, path_flags, path.clone()).await {
        Ok(stat) if !openable(stat.type_) => return Ok(Err(ErrorCode::Access)),
        Ok(_) => {}
        // Not there (a create) or not reachable: the open itself says why.
        Err(err) => {
            err.downcast()?;
        }
    }
    match fs.open_at(fd, path_flags, path, oflags, flags).await {
        Ok(opened) => Ok(Ok(opened)),
        Err(err) => Ok(Err(err.downcast()?)),
    }
}

/// Whether a grant may open a file of this type.
fn openable(kind: DescriptorType) -> bool {
    matches!(kind, DescriptorType::RegularFile | DescriptorType::Directory | DescriptorType::SymbolicLink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_directories_and_links_are_openable() {
        for kind in [DescriptorType::RegularFile, DescriptorType::Directory, DescriptorType::SymbolicLink] {
            assert!(openable(kind), "{kind:?}");
        }
        for kind in [
            DescriptorType::Fifo,
            DescriptorType::CharacterDevice,
            DescriptorType::BlockDevice,
            DescriptorType::Socket,
            DescriptorType::Unknown,
        ] {
            assert!(!openable(kind), "{kind:?}");
        }
    }
}
