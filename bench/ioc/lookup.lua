-- wrk: GET /api/v1/lookup?value=V with a bearer token, V taken in turn from a file.
-- wrk -s lookup.lua URL -- TOKEN VALUES_FILE
local values, i, token = {}, 0, ""

function init(args)
  token = args[1]
  for line in io.lines(args[2]) do
    values[#values + 1] = line:gsub("([^%w%-%.%_%~])", function(c) return string.format("%%%02X", string.byte(c)) end)
  end
  i = math.random(#values)
end

function request()
  i = i % #values + 1
  return wrk.format("GET", "/api/v1/lookup?value=" .. values[i], { ["authorization"] = "Bearer " .. token })
end
