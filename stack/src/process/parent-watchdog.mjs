// Preloaded into every component (`node --import <this>`): when the orchestrator that started the process disappears
// (killed with SIGKILL, terminal closed), the component stops itself gracefully instead of living on as an orphan that
// holds its port and data files. Checks the parent once a second; the timer never keeps the process alive.
const parent = process.ppid;
const timer = setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }
}, 1000);
timer.unref();
