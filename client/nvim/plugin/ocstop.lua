-- ocstop: :OcStop, :OcStop! and :OcStopStatus. Nothing connects and nothing is mapped until used
-- (mappings and options: require('ocstop').setup{}, see :help ocstop).
if vim.g.loaded_ocstop then
  return
end
vim.g.loaded_ocstop = 1

vim.api.nvim_create_user_command('OcStop', function(o)
  require('ocstop').stop({ all = o.bang })
end, { bang = true, desc = 'Stop the OpenCode sessions running in this project (!: all of them)' })

vim.api.nvim_create_user_command('OcStopStatus', function()
  require('ocstop').show_status()
end, { desc = 'Show ocstopd and the OpenCode sessions running' })
