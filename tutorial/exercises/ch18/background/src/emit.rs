// ANCHOR: head
//! From a module to an ELF relocatable object in memory, for our linker to load.

use inkwell::OptimizationLevel;
use inkwell::module::Module;
use inkwell::targets::{CodeModel, FileType, RelocMode, Target, TargetMachine};
// ANCHOR_END: head

// ANCHOR: machine
/// The host's CPU, with the code shape our linker expects: position-independent
/// code (every reference to the object's own data is relative to the instruction)
/// in the small code model (a call is a 32-bit displacement). The native target must
/// be initialized.
pub fn jit_machine() -> Result<TargetMachine, String> {
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|err| err.to_string())?;
    let cpu = TargetMachine::get_host_cpu_name().to_string();
    let features = TargetMachine::get_host_cpu_features().to_string();
    target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            OptimizationLevel::Default,
            RelocMode::PIC,
            CodeModel::Small,
        )
        .ok_or_else(|| format!("LLVM has no target machine for {triple}"))
}
// ANCHOR_END: machine

// ANCHOR: object
/// Compiles `module` for `machine` into the bytes of an ELF relocatable object.
pub fn object(module: &Module<'_>, machine: &TargetMachine) -> Result<Vec<u8>, String> {
    // The module says which machine it is for, as an object file on disk would.
    module.set_triple(&machine.get_triple());
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    let buffer = machine
        .write_to_memory_buffer(module, FileType::Object)
        .map_err(|err| err.to_string())?;
    Ok(buffer.as_slice().to_vec())
}
// ANCHOR_END: object
