# Sourced by the benchmark scripts: which CPUs the servers under test and the load use.
# On two or more CPUs the servers get the first half and the load the rest (on 2 cores:
# CPU 0 and CPU 1); on one CPU everything shares it. SERVER_CPUS and CLIENT_CPUS (taskset
# lists) override it. Sets cpus, server_cpus and client_cpus.
cpus=$(nproc)
if [ "$cpus" -ge 2 ]; then
  half=$((cpus / 2))
  server_cpus="${SERVER_CPUS:-0-$((half - 1))}" && [ "$half" -gt 1 ] || server_cpus="${SERVER_CPUS:-0}"
  client_cpus="${CLIENT_CPUS:-$half-$((cpus - 1))}" && [ "$cpus" -gt $((half + 1)) ] || client_cpus="${CLIENT_CPUS:-$half}"
else # one CPU: everything shares it
  server_cpus="${SERVER_CPUS:-0}" client_cpus="${CLIENT_CPUS:-0}"
fi
