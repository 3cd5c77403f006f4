%# One form field: its label, the input and what is wrong with it.
<p>
  <label for="{{name}}">{{label}}</label>
  <input id="{{name}}" name="{{name}}" type="{{type}}" value="{{get('value', '')}}" required>
  % if errors.get(name):
  <br><span class="error">{{errors[name]}}</span>
  % end
</p>
